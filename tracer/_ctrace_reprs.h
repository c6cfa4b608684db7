/* What a value shows and how a state is kept.
 *
 * A value shows by the rules of tracer.reprs: ints, floats, bools, None and plain strings
 * here, every other value through `reprs.value_text` (same text, same shared cache dict).
 * Part of tracer/_ctrace.c (included there after its types), not a header of its own.
 * A state is recorded as a tuple (index of its names in the tracer's `names`, texts...). */

static int hidden(PyObject *name) {
    if (!PyUnicode_Check(name))
        return 0;
    Py_ssize_t n = PyUnicode_GET_LENGTH(name);
    if (n >= 1 && PyUnicode_READ_CHAR(name, 0) == '.')
        return 1;
    return n >= 2 && PyUnicode_READ_CHAR(name, 0) == '_' && PyUnicode_READ_CHAR(name, 1) == '_' &&
           PyUnicode_READ_CHAR(name, n - 2) == '_' && PyUnicode_READ_CHAR(name, n - 1) == '_';
}

static int is_atom(PyObject *v) {
    PyTypeObject *k = Py_TYPE(v);
    return k == &PyLong_Type || k == &PyFloat_Type || k == &PyBool_Type || v == Py_None;
}

static int is_stable(Tracer *t, PyObject *v) {
    if (is_atom(v) || Py_TYPE(v) == &PyUnicode_Type)
        return 1;
    return PySet_Contains(t->stable, (PyObject *)Py_TYPE(v));  /* -1 on error */
}

static PyObject *call_value_text(Tracer *t, PyObject *name, PyObject *value) {
    return PyObject_CallFunctionObjArgs(t->value_text, name, value, t->cache, t->limit_obj, NULL);
}

/* text cut to the limit, `...` at the end (steals text) */
static PyObject *cut(Tracer *t, PyObject *text) {
    if (text == NULL || PyUnicode_GET_LENGTH(text) <= t->limit)
        return text;
    PyObject *head = PyUnicode_Substring(text, 0, t->limit - 3);
    Py_DECREF(text);
    if (head == NULL)
        return NULL;
    PyObject *out = PyUnicode_Concat(head, S_ELLIPSIS);
    Py_DECREF(head);
    return out;
}

/* the texts of the ints loops count with, made once each (at most 4 characters: never cut) */
#define SMALL_LOW (-256)
#define SMALL_HIGH 4096
static PyObject *SMALL_TEXTS[SMALL_HIGH - SMALL_LOW];

/* repr of an int, float, bool or None; an int too long to print goes to value_text. The type's
 * own repr is called (no recursion check: the trace goes on at the program's recursion limit). */
static PyObject *atom_text(Tracer *t, PyObject *name, PyObject *value) {
    if (Py_TYPE(value) == &PyLong_Type) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(value, &overflow);
        if (!overflow && v >= SMALL_LOW && v < SMALL_HIGH) {
            PyObject **slot = &SMALL_TEXTS[v - SMALL_LOW];
            if (*slot == NULL && (*slot = PyUnicode_FromFormat("%ld", v)) == NULL)
                return NULL;
            return Py_NewRef(*slot);
        }
    }
    PyObject *text = Py_TYPE(value)->tp_repr(value);
    if (text == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError))
            return NULL;
        PyErr_Clear();
        return call_value_text(t, name, value);
    }
    return cut(t, text);
}

/* a plain string: repr of its head, remembered in the cache as value_text does */
static PyObject *str_text(Tracer *t, PyObject *name, PyObject *value) {
    PyObject *head = PyUnicode_GET_LENGTH(value) > t->limit ? PyUnicode_Substring(value, 0, t->limit) : Py_NewRef(value);
    if (head == NULL)
        return NULL;
    PyObject *text = PyUnicode_Type.tp_repr(head);
    Py_DECREF(head);
    if (text == NULL)
        return NULL;
    Py_ssize_t at = PyUnicode_Find(text, S_AT, 0, PyUnicode_GET_LENGTH(text), 1);
    if (at != -1) {  /* an address to drop (or an error): value_text's business */
        Py_DECREF(text);
        return at == -2 ? NULL : call_value_text(t, name, value);
    }
    text = cut(t, text);
    if (text == NULL)
        return NULL;
    PyObject *entry = PyTuple_Pack(2, value, text);
    if (entry == NULL || PyDict_SetItem(t->cache, name, entry) < 0) {
        Py_XDECREF(entry);
        Py_DECREF(text);
        return NULL;
    }
    Py_DECREF(entry);
    return text;
}

/* the text of local `name` holding `value` (None: not state); new reference */
static PyObject *text_of(Tracer *t, PyObject *name, PyObject *value) {
    if (is_atom(value))
        return atom_text(t, name, value);
    PyObject *hit = PyDict_GetItemWithError(t->cache, name);
    if (hit == NULL && PyErr_Occurred())
        return NULL;
    if (hit != NULL && PyTuple_GET_SIZE(hit) == 2 && PyTuple_GET_ITEM(hit, 0) == value) {
        int stable = is_stable(t, value);
        if (stable < 0)
            return NULL;
        if (stable)
            return Py_NewRef(PyTuple_GET_ITEM(hit, 1));
    }
    if (Py_TYPE(value) == &PyUnicode_Type)
        return str_text(t, name, value);
    return call_value_text(t, name, value);
}

/* name's text into state unless hidden or not state; *unstable |= the value may change in place */
static int add_text(Tracer *t, PyObject *state, PyObject *name, PyObject *value, int *unstable) {
    if (hidden(name))
        return 0;
    Py_INCREF(name);
    Py_INCREF(value);  /* a repr may run code */
    int stable = is_stable(t, value);
    PyObject *text = stable < 0 ? NULL : text_of(t, name, value);
    int failed = text == NULL || (text != Py_None && PyDict_SetItem(state, name, text) < 0);
    *unstable |= !stable;
    Py_XDECREF(text);
    Py_DECREF(name);
    Py_DECREF(value);
    return failed ? -1 : 0;
}

/* every kept local's text (a dict); *unstable: one of the values may change in place */
static PyObject *full_state(Tracer *t, PyObject *local_vars, int *unstable) {
    PyObject *state = PyDict_New(), *name, *value;
    Py_ssize_t pos = 0;
    *unstable = 0;
    while (state != NULL && PyDict_Next(local_vars, &pos, &name, &value))
        if (add_text(t, state, name, value, unstable) < 0)
            Py_CLEAR(state);
    return state;
}

/* the same for a function frame without cells, read from its fast locals (no f_locals dict to
 * build): its bound locals in the function's variable order */
static PyObject *fast_state(Tracer *t, PyFrameObject *frame, int *unstable) {
    _PyInterpreterFrame *f = frame->f_frame;
    PyObject *state = PyDict_New();
    *unstable = 0;
    for (int i = 0; state != NULL && i < f->f_code->co_nlocals; i++)
        if (f->localsplus[i] != NULL &&
            add_text(t, state, PyTuple_GET_ITEM(f->f_code->co_localsplusnames, i), f->localsplus[i], unstable) < 0)
            Py_CLEAR(state);
    return state;
}

/* the index in t->names of the names of a dict name -> text (borrowed), new names added */
static PyObject *names_index(Tracer *t, PyObject *texts) {
    PyObject *names = PyTuple_New(PyDict_GET_SIZE(texts)), *name, *text, *index = NULL;
    Py_ssize_t pos = 0, i = 0;
    if (names == NULL)
        return NULL;
    while (PyDict_Next(texts, &pos, &name, &text))
        PyTuple_SET_ITEM(names, i++, Py_NewRef(name));
    index = PyDict_GetItemWithError(t->name_index, names);
    if (index == NULL && !PyErr_Occurred()) {  /* names not seen before: a new entry */
        PyObject *made = PyLong_FromSsize_t(PyList_GET_SIZE(t->names));
        if (made != NULL && PyList_Append(t->names, names) == 0 && PyDict_SetItem(t->name_index, names, made) == 0)
            index = made;  /* the dict holds it */
        Py_XDECREF(made);
    }
    Py_DECREF(names);
    return index;
}

/* a state as recorded: (index of its names in t->names, their texts...) from a dict
 * name -> text (stolen; NULL passes through). `last`, the frame's last state or NULL, is
 * returned when alike. Names the same objects in the same order as those of `last` (or, for
 * a new frame, of the last state made: another call of the same function) are not looked up. */
static PyObject *pack(Tracer *t, PyObject *texts, PyObject *last) {
    if (texts == NULL)
        return NULL;
    Py_ssize_t n = PyDict_GET_SIZE(texts), pos = 0, i = 0;
    PyObject *keys = last == NULL ? t->last_names : PyList_GET_ITEM(t->names, PyLong_AsSsize_t(PyTuple_GET_ITEM(last, 0)));
    PyObject *state = PyTuple_New(n + 1), *name, *text, *index = NULL;
    int same = keys != NULL && PyTuple_GET_SIZE(keys) == n, alike = same && last != NULL;  /* and texts */
    if (state != NULL) {
        while (PyDict_Next(texts, &pos, &name, &text)) {
            same = same && PyTuple_GET_ITEM(keys, i) == name;
            PyTuple_SET_ITEM(state, ++i, Py_NewRef(text));
            alike = alike && same && (text == PyTuple_GET_ITEM(last, i) ||
                                      PyUnicode_Compare(text, PyTuple_GET_ITEM(last, i)) == 0);  /* both str */
        }
        index = !same ? names_index(t, texts) : last == NULL ? t->last_index : PyTuple_GET_ITEM(last, 0);
    }
    Py_DECREF(texts);
    if (index == NULL || alike) {  /* alike: the steps share one state */
        Py_XDECREF(state);
        return index == NULL ? NULL : Py_NewRef(last);
    }
    PyTuple_SET_ITEM(state, 0, Py_NewRef(index));
    PyObject_GC_UnTrack(state);  /* texts and an int: no cycles; the collector need not look */
    t->last_index = index;  /* held by t->name_index, as its names are by t->names */
    t->last_names = PyList_GET_ITEM(t->names, PyLong_AsSsize_t(index));
    return state;
}
