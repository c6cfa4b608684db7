/* What a value shows, by the rules of tracer.reprs: ints, floats, bools, None and plain strings
 * here, every other value through `reprs.value_text` (same text, same shared cache dict).
 * Part of tracer/_ctrace.c (included there after its types), not a header of its own. */

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

/* repr of an int, float, bool or None; an int too long to print goes to value_text. The type's
 * own repr is called (no recursion check: the trace goes on at the program's recursion limit). */
static PyObject *atom_text(Tracer *t, PyObject *name, PyObject *value) {
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

/* every kept local's text; *unstable: one of the values may change in place */
static PyObject *full_state(Tracer *t, PyObject *local_vars, int *unstable) {
    PyObject *state = PyDict_New(), *name, *value;
    Py_ssize_t pos = 0;
    *unstable = 0;
    if (state == NULL)
        return NULL;
    while (PyDict_Next(local_vars, &pos, &name, &value)) {
        if (hidden(name))
            continue;
        Py_INCREF(name);
        Py_INCREF(value);
        int stable = is_stable(t, value);
        PyObject *text = stable < 0 ? NULL : text_of(t, name, value);
        int failed = text == NULL || (text != Py_None && PyDict_SetItem(state, name, text) < 0);
        *unstable |= !stable;
        Py_XDECREF(text);
        Py_DECREF(name);
        Py_DECREF(value);
        if (failed) {
            Py_DECREF(state);
            return NULL;
        }
    }
    return state;
}
