/* What a value shows and how a state is kept.
 *
 * A value shows by the rules of tracer.reprs: ints, floats, bools, None and plain strings
 * here, every other value through `reprs.value_text` (same text, same shared cache dict;
 * strings skip the cache: the repr of their head is cheaper than remembering it).
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

/* the texts of other ints that fit a C long, recently shown: a direct-mapped table by value. A
 * name re-shown unchanged (module and class bodies show every name every step) or a value seen
 * again reuses its text: no repr, no new string to keep. Only uncut texts (true for any limit). */
#define RECENT 1024
static struct {
    long value;
    PyObject *text;
} RECENT_TEXTS[RECENT];

static PyObject *long_text(Tracer *t, PyObject *value, long v) {
    if (v >= SMALL_LOW && v < SMALL_HIGH) {
        PyObject **slot = &SMALL_TEXTS[v - SMALL_LOW];
        if (*slot == NULL && (*slot = PyUnicode_FromFormat("%ld", v)) == NULL)
            return NULL;
        return Py_NewRef(*slot);
    }
    size_t at = ((unsigned long)v * 0x9E3779B97F4A7C15ul) >> 54;  /* Fibonacci hashing: 10 bits */
    if (RECENT_TEXTS[at].text != NULL && RECENT_TEXTS[at].value == v)
        return Py_NewRef(RECENT_TEXTS[at].text);
    PyObject *text = PyLong_Type.tp_repr(value);
    if (text == NULL || PyUnicode_GET_LENGTH(text) > t->limit)
        return cut(t, text);
    Py_XSETREF(RECENT_TEXTS[at].text, Py_NewRef(text));
    RECENT_TEXTS[at].value = v;
    return text;
}

/* repr of an int, float, bool or None; an int too long to print goes to value_text. The type's
 * own repr is called (no recursion check: the trace goes on at the program's recursion limit). */
static PyObject *atom_text(Tracer *t, PyObject *name, PyObject *value) {
    if (Py_TYPE(value) == &PyLong_Type) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(value, &overflow);
        if (!overflow)
            return long_text(t, value, v);
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

/* the texts of one-character strings (loops over text), made once each */
static PyObject *CHAR_TEXTS[256];

/* a plain string: repr of its head (at most `limit` characters: cheap, so not cached) */
static PyObject *str_text(Tracer *t, PyObject *name, PyObject *value) {
    if (PyUnicode_GET_LENGTH(value) == 1 && PyUnicode_READ_CHAR(value, 0) < 256) {
        PyObject **slot = &CHAR_TEXTS[PyUnicode_READ_CHAR(value, 0)];
        if (*slot == NULL && (*slot = PyUnicode_Type.tp_repr(value)) == NULL)
            return NULL;
        return Py_NewRef(*slot);
    }
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
    return cut(t, text);
}

/* the text of local `name` holding `value` (None: not state); new reference */
static PyObject *text_of(Tracer *t, PyObject *name, PyObject *value) {
    if (is_atom(value))
        return atom_text(t, name, value);
    if (Py_TYPE(value) == &PyUnicode_Type)
        return str_text(t, name, value);
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
    return call_value_text(t, name, value);
}

/* A frame's kept locals (names not hidden, values bound), new references taken before any repr
 * runs: a repr may run code that changes the frame's dict. */
#define FEW 32
typedef struct {
    Py_ssize_t n;
    PyObject **names, **values;
    PyObject *few[2 * FEW];
} Locals;

static int locals_init(Locals *l, Py_ssize_t most) {
    l->n = 0;
    l->names = most <= FEW ? l->few : PyMem_Malloc(2 * most * sizeof(PyObject *));
    if (l->names == NULL)
        return PyErr_NoMemory(), -1;
    l->values = l->names + (most <= FEW ? FEW : most);
    return 0;
}

static void locals_add(Locals *l, PyObject *name, PyObject *value) {
    if (value != NULL && !hidden(name)) {
        l->names[l->n] = Py_NewRef(name);
        l->values[l->n++] = Py_NewRef(value);
    }
}

static void locals_free(Locals *l) {
    for (Py_ssize_t i = 0; i < l->n; i++) {
        Py_DECREF(l->names[i]);
        Py_DECREF(l->values[i]);
    }
    if (l->names != l->few)
        PyMem_Free(l->names);
}

/* the index in t->names of a names tuple made of names[0..n), new names added (borrowed) */
static PyObject *names_index(Tracer *t, PyObject **names, Py_ssize_t n) {
    PyObject *key = PyTuple_New(n), *index = NULL;
    if (key == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        PyTuple_SET_ITEM(key, i, Py_NewRef(names[i]));
    index = PyDict_GetItemWithError(t->name_index, key);
    if (index == NULL && !PyErr_Occurred()) {  /* names not seen before: a new entry */
        PyObject *made = PyLong_FromSsize_t(PyList_GET_SIZE(t->names));
        if (made != NULL && PyList_Append(t->names, key) == 0 && PyDict_SetItem(t->name_index, key, made) == 0)
            index = made;  /* the dict holds it */
        Py_XDECREF(made);
    }
    Py_DECREF(key);
    return index;
}

/* the state of locals `l` as recorded: (index of its names in t->names, their texts...), new
 * reference. `last`, the frame's last state or NULL, is returned when alike. Names the same
 * objects in the same order as those of `last` (or, for a new frame, of the last state made:
 * another call of the same function) are not looked up. *unstable: a value may change in place. */
static PyObject *state_of(Tracer *t, Locals *l, PyObject *last, int *unstable) {
    PyObject *state = PyTuple_New(l->n + 1), *index = NULL;
    Py_ssize_t n = 0;  /* texts kept: names[0..n), moved to the front */
    *unstable = 0;
    for (Py_ssize_t i = 0; state != NULL && i < l->n; i++) {
        PyObject *name = l->names[i], *value = l->values[i];
        int stable = is_stable(t, value);
        PyObject *text = stable < 0 ? NULL : text_of(t, name, value);
        *unstable |= !stable;
        if (text == NULL) {
            Py_CLEAR(state);
        } else if (text == Py_None) {  /* not state */
            Py_DECREF(text);
        } else {
            l->names[i] = l->names[n], l->values[i] = l->values[n];
            l->names[n] = name, l->values[n] = value;
            PyTuple_SET_ITEM(state, ++n, text);
        }
    }
    if (state == NULL || (n < l->n && _PyTuple_Resize(&state, n + 1) < 0))
        return NULL;
    PyObject *keys = last == NULL ? t->last_names : PyList_GET_ITEM(t->names, PyLong_AsSsize_t(PyTuple_GET_ITEM(last, 0)));
    int same = keys != NULL && PyTuple_GET_SIZE(keys) == n, alike = same && last != NULL;  /* and texts */
    for (Py_ssize_t i = 0; i < n && same; i++)
        same = PyTuple_GET_ITEM(keys, i) == l->names[i];
    for (Py_ssize_t i = 1; i <= n && alike; i++) {
        PyObject *text = PyTuple_GET_ITEM(state, i), *old = PyTuple_GET_ITEM(last, i);
        alike = text == old || PyUnicode_Compare(text, old) == 0;  /* both str: no error */
    }
    if (alike) {  /* the steps share one state */
        Py_DECREF(state);
        return Py_NewRef(last);
    }
    index = !same ? names_index(t, l->names, n) : last == NULL ? t->last_index : PyTuple_GET_ITEM(last, 0);
    if (index == NULL) {
        Py_DECREF(state);
        return NULL;
    }
    PyTuple_SET_ITEM(state, 0, Py_NewRef(index));
    PyObject_GC_UnTrack(state);  /* texts and an int: no cycles; the collector need not look */
    t->last_index = index;  /* held by t->name_index, as its names are by t->names */
    t->last_names = PyList_GET_ITEM(t->names, PyLong_AsSsize_t(index));
    return state;
}

/* the state of a module or class body, or a frame with cells: every name of its locals dict */
static PyObject *dict_state(Tracer *t, PyObject *local_vars, PyObject *last, int *unstable) {
    Locals l;
    PyObject *name, *value, *state = NULL;
    Py_ssize_t pos = 0;
    if (locals_init(&l, PyDict_GET_SIZE(local_vars)) < 0)
        return NULL;
    while (PyDict_Next(local_vars, &pos, &name, &value))  /* no code runs here: the dict stays as it is */
        locals_add(&l, name, value);
    state = state_of(t, &l, last, unstable);
    locals_free(&l);
    return state;
}

/* the same for a function frame without cells, from its fast locals (no f_locals dict to build):
 * its bound locals in the function's variable order */
static PyObject *fast_state(Tracer *t, PyFrameObject *frame, PyObject *last, int *unstable) {
    _PyInterpreterFrame *f = frame->f_frame;
    Locals l;
    PyObject *state = NULL;
    if (locals_init(&l, f->f_code->co_nlocals) < 0)
        return NULL;
    for (int i = 0; i < f->f_code->co_nlocals; i++)
        locals_add(&l, PyTuple_GET_ITEM(f->f_code->co_localsplusnames, i), f->localsplus[i]);
    state = state_of(t, &l, last, unstable);
    locals_free(&l);
    return state;
}
