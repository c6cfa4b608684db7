/* The recorder's trace function in C (tracer.recorder.Recorder.tracer is the same in Python).
 *
 * A Python-level `sys.settrace` function costs a Python call per line event: on Python 3.11 a
 * tracer that records nothing already makes tight loops 3-17x slower. This one is installed
 * with PyEval_SetTrace and does the common work itself: per line of the traced file, it closes
 * the frame's open step (the locals after the line ran) and opens the next. Values are shown
 * by the rules of tracer.reprs (_ctrace_reprs.h).
 *
 * A traced frame's record (its open step, last state and call depth) is its `f_trace`, which
 * CPython leaves to the trace function; frames of other files get `f_trace_lines = 0`: no line
 * events. The first line event after a call or return of a traced frame notes (step, code,
 * depth) in a C array (no Python object: calls stay cheap); `frames()` gives them as tuples.
 * On an error the tracer switches itself off, as CPython does with a Python trace function,
 * and the exception surfaces in the program.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <structmember.h>

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030D0000
/* PyFrame_GetLocals is new in 3.11 and returns a proxy, not a dict, from 3.13 (PEP 667), and the
 * frame layout read below is 3.11's and 3.12's: other versions build nothing (the extension is
 * optional) and use the Python trace function */
#error "tracer._ctrace supports CPython 3.11 and 3.12"
#endif
/* the frame's fields: its record in f_trace (unused by a C trace function) and its fast locals */
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE

/* what tracer.recorder checks: an older build in place is not used (it records no `frames`) */
#define CTRACE_VERSION 2

typedef struct { Py_ssize_t step, depth; PyCodeObject *code; } Segment;  /* code: borrowed, `plans` holds it */

typedef struct {
    PyObject_HEAD
    Py_ssize_t step;   /* the open step (index into lines), -1: none */
    int line;          /* its line */
    int first;         /* the code's first line */
    PyObject *state;   /* the state at the frame's last step, or NULL */
    PyObject *plan;    /* function frames: (first, then per line from `first` on None or (names it
                        * binds, their fast-local indices)); NULL: module or class body, or cells */
    int unstable;      /* a value of the state may change in place */
    int dirty;         /* an exception passed since the state was taken whole */
    Py_ssize_t depth;  /* traced frames below this one on the stack (the module body: 0) */
} FrameRec;

typedef struct {
    PyObject_HEAD
    PyObject *filename, *lines, *states, *names, *name_index, *cache, *plans, *stable;
    PyObject *value_text, *line_binds, *abort, *limit_obj, *too_long;
    Py_ssize_t limit, max_steps;
    Py_ssize_t depth;                 /* traced frames now on the stack */
    char switched;                    /* a traced frame was called or returned since the last line */
    char record_frames;               /* note where the steps' frame changes */
    Segment *segments;                /* those notes: n_segments of them, room for max_segments */
    Py_ssize_t n_segments, max_segments;
    PyObject *last_code, *last_plan;  /* borrowed from plans: the code of the last call event */
    PyObject *last_names, *last_index;  /* borrowed: the names of the last state made, their index */
    char failed;                      /* switched off after an error */
} Tracer;

static PyObject *S_AT, *S_ELLIPSIS;


static void rec_dealloc(FrameRec *r) {
    Py_XDECREF(r->state);
    Py_XDECREF(r->plan);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static PyObject *rec_get_step(FrameRec *r, void *closure) {
    return r->step < 0 ? Py_NewRef(Py_None) : PyLong_FromSsize_t(r->step);
}

static PyGetSetDef rec_getset[] = {
    {"step", (getter)rec_get_step, NULL, "the open step, or None", NULL},
    {NULL}};

static PyTypeObject FrameRecType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._ctrace.FrameRec",
    .tp_basicsize = sizeof(FrameRec),
    .tp_dealloc = (destructor)rec_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_getset = rec_getset,
    .tp_doc = "A traced frame's open step and last state.",
};

#include "_ctrace_reprs.h"  /* what a value shows: hidden, text_of, dict_state, fast_state */

/* where `name` is in the names tuple `keys`: -1 not there, -2 error */
static Py_ssize_t position(PyObject *keys, PyObject *name) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++)
        if (PyTuple_GET_ITEM(keys, i) == name)  /* the code's own name objects: found here */
            return i;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++) {
        int diff = PyUnicode_Compare(PyTuple_GET_ITEM(keys, i), name);
        if (diff == 0)
            return i;
        if (diff == -1 && PyErr_Occurred())
            return -2;
    }
    return -1;
}

/* a copy of a state (texts and an int: no cycles, so not tracked by the garbage collector) */
static PyObject *copy_state(PyObject *state) {
    PyObject *copy = PyTuple_New(PyTuple_GET_SIZE(state));
    if (copy == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(state); i++)
        PyTuple_SET_ITEM(copy, i, Py_NewRef(PyTuple_GET_ITEM(state, i)));
    PyObject_GC_UnTrack(copy);
    return copy;
}

/* function frames: after a line that binds no local, the state is the one before (when its
 * values cannot change in place); after one that does, only its names are looked at.
 * Returns the new state (new reference), or NULL. */
static PyObject *function_state(Tracer *t, FrameRec *r, PyFrameObject *frame) {
    if (!r->unstable && !r->dirty && r->state != NULL) {
        Py_ssize_t at = r->line - r->first + 1;
        PyObject *binds = at >= 1 && at < PyTuple_GET_SIZE(r->plan) ? PyTuple_GET_ITEM(r->plan, at) : Py_None;
        if (binds == Py_None)  /* binds nothing */
            return Py_NewRef(r->state);
        PyObject *names = PyTuple_GET_ITEM(binds, 0), *slots = PyTuple_GET_ITEM(binds, 1);
        PyObject *keys = PyList_GET_ITEM(t->names, PyLong_AsSsize_t(PyTuple_GET_ITEM(r->state, 0)));
        PyObject **fast = frame->f_frame->localsplus;  /* no cells in a planned frame: plain values */
        PyObject *state = Py_NewRef(r->state);  /* a copy of its own from the first change on */
        int full = 0;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names) && !full; i++) {
            PyObject *name = PyTuple_GET_ITEM(names, i), *text;
            PyObject *value = fast[PyLong_AsSsize_t(PyTuple_GET_ITEM(slots, i))];  /* NULL: unbound */
            int stable = value == NULL ? 0 : is_stable(t, value);
            if (stable < 0)
                goto error;
            if (!stable) {  /* unbound, or a value that may change in place */
                full = 1;
                break;
            }
            Py_INCREF(value);  /* a repr may run code */
            text = text_of(t, name, value);
            Py_DECREF(value);
            if (text == NULL)
                goto error;
            Py_ssize_t at = position(keys, name);
            PyObject *old = at < 0 ? NULL : PyTuple_GET_ITEM(state, at + 1);
            int changed = 0;
            if (at == -2 || text == Py_None || old == NULL)  /* a new name, or one now skipped */
                full = at != -2 && (text != Py_None || old != NULL);
            else if (text != old && (changed = PyUnicode_Compare(text, old)) == -1 && PyErr_Occurred())
                at = -2;
            if (at == -2) {
                Py_DECREF(text);
                goto error;
            }
            if (changed) {
                if (state == r->state) {  /* copy on write: earlier steps keep the old state */
                    PyObject *copy = copy_state(state);
                    if (copy == NULL) {
                        Py_DECREF(text);
                        goto error;
                    }
                    Py_SETREF(state, copy);
                }
                Py_SETREF(((PyTupleObject *)state)->ob_item[at + 1], Py_NewRef(text));  /* ours alone */
            }
            Py_DECREF(text);
        }
        if (!full)
            return state;
        Py_DECREF(state);
        goto whole;
    error:
        Py_DECREF(state);
        return NULL;
    }
whole:;
    r->dirty = 0;
    return fast_state(t, frame, r->state, &r->unstable);
}

/* `line_binds`' line -> names (None stays None) as a plan: a tuple (first line, then per line
 * from it on None or (names, their fast-local slots)) */
static PyObject *with_slots(PyCodeObject *code, PyObject *binds) {
    if (binds == NULL || binds == Py_None)
        return binds;
    PyObject *varnames = PyCode_GetVarnames(code), *plan = NULL, *line, *names;
    Py_ssize_t pos = 0;
    long first = code->co_firstlineno, last = first;
    int ok = varnames != NULL && PyDict_Check(binds);
    while (ok && PyDict_Next(binds, &pos, &line, &names)) {
        long at = PyLong_AsLong(line);
        ok = !(at == -1 && PyErr_Occurred());
        first = at < first ? at : first;
        last = at > last ? at : last;
    }
    ok = ok && (plan = PyTuple_New(last - first + 2)) != NULL;
    for (Py_ssize_t i = 0; ok && i < PyTuple_GET_SIZE(plan); i++)
        PyTuple_SET_ITEM(plan, i, i == 0 ? PyLong_FromLong(first) : Py_NewRef(Py_None));
    ok = ok && PyTuple_GET_ITEM(plan, 0) != NULL;
    pos = 0;
    while (ok && PyDict_Next(binds, &pos, &line, &names)) {
        PyObject *slots = PyTuple_New(PyTuple_GET_SIZE(names)), *entry = NULL;
        for (Py_ssize_t i = 0; slots != NULL && i < PyTuple_GET_SIZE(names); i++) {
            Py_ssize_t slot = PySequence_Index(varnames, PyTuple_GET_ITEM(names, i));
            PyObject *index = slot < 0 ? NULL : PyLong_FromSsize_t(slot);
            if (index == NULL)
                Py_CLEAR(slots);
            else
                PyTuple_SET_ITEM(slots, i, index);
        }
        entry = slots == NULL ? NULL : PyTuple_Pack(2, names, slots);
        if ((ok = entry != NULL))
            Py_SETREF(((PyTupleObject *)plan)->ob_item[PyLong_AsLong(line) - first + 1], entry);
        else
            Py_XDECREF(entry);
        Py_XDECREF(slots);
    }
    Py_XDECREF(varnames);
    Py_DECREF(binds);
    if (!ok)
        Py_CLEAR(plan);
    return plan;
}

static int on_call(Tracer *t, PyFrameObject *frame) {
    PyCodeObject *code = PyFrame_GetCode(frame);
    PyObject *plan = t->last_plan;
    if ((PyObject *)code != t->last_code) {
        PyObject *key = PyLong_FromVoidPtr(code), *entry;
        if (key == NULL)
            goto error;
        entry = PyDict_GetItemWithError(t->plans, key);
        if (entry == NULL) {
            int ours = PyErr_Occurred() ? -1 : PyObject_RichCompareBool(code->co_filename, t->filename, Py_EQ);
            PyObject *made = ours < 0 ? NULL : !ours ? Py_NewRef(Py_False)
                : with_slots(code, PyObject_CallOneArg(t->line_binds, (PyObject *)code));
            entry = made == NULL ? NULL : PyTuple_Pack(2, (PyObject *)code, made);  /* keeps the code alive */
            Py_XDECREF(made);
            if (entry == NULL || PyDict_SetItem(t->plans, key, entry) < 0) {
                Py_XDECREF(entry);
                Py_DECREF(key);
                goto error;
            }
            Py_DECREF(entry);  /* the dict holds it */
        }
        Py_DECREF(key);
        t->last_code = (PyObject *)code;
        t->last_plan = plan = PyTuple_GET_ITEM(entry, 1);
    }
    Py_DECREF(code);
    if (plan == Py_False) {  /* not the traced file: no line events from this frame */
        frame->f_trace_lines = 0;
        return 0;
    }
    FrameRec *r = PyObject_New(FrameRec, &FrameRecType);
    if (r == NULL)
        return -1;
    r->step = -1;
    r->line = r->first = 0;
    if (plan != Py_None)
        r->first = PyLong_AsLong(PyTuple_GET_ITEM(plan, 0));
    r->state = NULL;
    r->plan = plan == Py_None ? NULL : Py_NewRef(plan);
    r->unstable = r->dirty = 0;
    r->depth = t->depth++;
    t->switched = 1;
    Py_XSETREF(frame->f_trace, (PyObject *)r);  /* the frame owns its record */
    return 0;
error:
    Py_DECREF(code);
    return -1;
}

static int close_step(Tracer *t, FrameRec *r, PyFrameObject *frame) {
    PyObject *state;
    if (r->plan == NULL) {  /* module and class bodies, frames sharing cells: every name, every step */
        PyObject *local_vars = PyFrame_GetLocals(frame);
        int unstable;
        if (local_vars == NULL)
            return -1;
        state = dict_state(t, local_vars, r->state, &unstable);
        Py_DECREF(local_vars);
    } else {
        state = function_state(t, r, frame);
    }
    if (state == NULL)
        return -1;
    Py_XSETREF(r->state, Py_NewRef(state));
    if (PyList_SetItem(t->states, r->step, state) < 0)  /* steals state */
        return -1;
    r->step = -1;
    return 0;
}

/* note that the steps from r's open step on run in `frame` (its code, r's depth) */
static int add_frame(Tracer *t, FrameRec *r, PyFrameObject *frame) {
    if (t->n_segments == t->max_segments) {
        Py_ssize_t room = t->max_segments ? 2 * t->max_segments : 256;
        Segment *grown = PyMem_Realloc(t->segments, room * sizeof(Segment));
        if (grown == NULL)
            return PyErr_NoMemory(), -1;
        t->segments = grown;
        t->max_segments = room;
    }
    t->segments[t->n_segments++] = (Segment){r->step, r->depth, frame->f_frame->f_code};
    t->switched = 0;
    return 0;
}

static int on_trace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg) {
    Tracer *t = (Tracer *)obj;
    int err = 0;
    if (t->failed)
        return 0;
    if (what == PyTrace_CALL) {
        err = on_call(t, frame);
        goto done;
    }
    if (what != PyTrace_LINE && what != PyTrace_RETURN && what != PyTrace_EXCEPTION)
        return 0;
    FrameRec *r = (FrameRec *)frame->f_trace;
    if (r == NULL || Py_TYPE(r) != &FrameRecType)  /* not a frame of the traced file */
        return 0;
    Py_INCREF(r);
    if (r->step >= 0) {
        if (what == PyTrace_EXCEPTION) {  /* the line may still be running */
            r->dirty = 1;
            Py_DECREF(r);
            return 0;
        }
        err = close_step(t, r, frame);
    }
    if (err == 0 && what == PyTrace_LINE) {
        if (PyList_GET_SIZE(t->lines) >= t->max_steps) {
            PyObject *done = PyObject_CallFunction(t->abort, "sO", "too_long", t->too_long);
            Py_XDECREF(done);
            err = done == NULL ? -1 : 0;
        }
        int lineno = PyFrame_GetLineNumber(frame);
        PyObject *line = err ? NULL : PyLong_FromLong(lineno);
        if (line == NULL || PyList_Append(t->lines, line) < 0 || PyList_Append(t->states, Py_None) < 0) {
            err = -1;
        } else {
            r->step = PyList_GET_SIZE(t->lines) - 1;
            r->line = lineno;
            if (t->switched && t->record_frames)
                err = add_frame(t, r, frame);
        }
        Py_XDECREF(line);
    } else if (err == 0 && what == PyTrace_RETURN) {
        t->depth--;
        t->switched = 1;
        Py_CLEAR(frame->f_trace);
    }
    Py_DECREF(r);
done:
    if (err) {  /* off, as CPython does when a Python trace function fails; the error surfaces */
        PyObject *type, *value, *tb;
        t->failed = 1;
        PyErr_Fetch(&type, &value, &tb);
        PyEval_SetTrace(NULL, NULL);  /* an audit hook may refuse: `failed` holds either way */
        PyErr_Restore(type, value, tb);
    }
    return err;
}


#define OBJECT_FIELDS(X) X(filename) X(lines) X(states) X(names) X(name_index) X(cache) X(plans) X(stable) \
    X(value_text) X(line_binds) X(abort) X(limit_obj) X(too_long)
#define VISIT(field) Py_VISIT(t->field);
#define CLEAR(field) Py_CLEAR(t->field);

static int tracer_traverse(Tracer *t, visitproc visit, void *arg) {
    OBJECT_FIELDS(VISIT)
    return 0;
}

static int tracer_clear(Tracer *t) {
    OBJECT_FIELDS(CLEAR)
    PyMem_Free(t->segments);
    t->segments = NULL;
    t->n_segments = t->max_segments = 0;
    t->last_code = t->last_plan = t->last_names = t->last_index = NULL;
    return 0;
}

static void tracer_dealloc(Tracer *t) {
    PyObject_GC_UnTrack(t);
    tracer_clear(t);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static int tracer_init(Tracer *t, PyObject *args, PyObject *kwds) {
    static char *kw[] = {"filename", "lines", "states", "names", "cache", "stable", "value_text",
                         "line_binds", "abort", "limit", "max_steps", "frames", NULL};
    PyObject *filename, *lines, *states, *names, *cache, *stable, *value_text, *line_binds, *abort;
    int frames = 0;
    Py_ssize_t limit, max_steps;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "UO!O!O!O!O!OOOnn|p", kw, &filename, &PyList_Type, &lines,
                                     &PyList_Type, &states, &PyList_Type, &names, &PyDict_Type, &cache,
                                     &PyFrozenSet_Type, &stable, &value_text, &line_binds, &abort, &limit,
                                     &max_steps, &frames))
        return -1;
    if (limit < 4)  /* "..." plus a character */
        return PyErr_SetString(PyExc_ValueError, "limit must be at least 4"), -1;
    tracer_clear(t);
    t->failed = 0;
    t->depth = t->switched = 0;
    t->record_frames = (char)frames;
    t->filename = Py_NewRef(filename);
    t->lines = Py_NewRef(lines);
    t->states = Py_NewRef(states);
    t->names = Py_NewRef(names);
    t->name_index = PyDict_New();
    t->cache = Py_NewRef(cache);
    t->stable = Py_NewRef(stable);
    t->value_text = Py_NewRef(value_text);
    t->line_binds = Py_NewRef(line_binds);
    t->abort = Py_NewRef(abort);
    t->limit = limit;
    t->max_steps = max_steps;
    t->limit_obj = PyLong_FromSsize_t(limit);
    t->too_long = PyUnicode_FromFormat("stopped after %zd steps", max_steps);
    t->plans = PyDict_New();
    return t->limit_obj && t->too_long && t->plans && t->name_index ? 0 : -1;
}

static PyObject *tracer_start(Tracer *t, PyObject *unused) {
    if (t->lines == NULL)
        return PyErr_SetString(PyExc_RuntimeError, "Tracer not initialised"), NULL;
    PyEval_SetTrace(on_trace, (PyObject *)t);
    Py_RETURN_NONE;
}

static PyObject *tracer_frames(Tracer *t, PyObject *unused) {
    PyObject *out = PyList_New(t->n_segments);
    for (Py_ssize_t i = 0; out != NULL && i < t->n_segments; i++) {
        Segment *at = &t->segments[i];
        PyObject *entry = Py_BuildValue("(nOn)", at->step, at->code->co_qualname, at->depth);
        if (entry == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, entry);
    }
    return out;
}

static PyMemberDef tracer_members[] = {
    {"failed", T_BOOL, offsetof(Tracer, failed), READONLY, "switched off by an error in the trace function"},
    {NULL}};

static PyMethodDef tracer_methods[] = {
    {"start", (PyCFunction)tracer_start, METH_NOARGS,
     "Trace this thread (sys.settrace(None) stops; sys.gettrace() is this object while it runs)."},
    {"frames", (PyCFunction)tracer_frames, METH_NOARGS,
     "[(step, qualified name, depth)]: the steps from `step` on run in that code at that depth (with frames=True)."},
    {NULL}};

static PyTypeObject TracerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tracer._ctrace.Tracer",
    .tp_basicsize = sizeof(Tracer),
    .tp_dealloc = (destructor)tracer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)tracer_traverse,
    .tp_clear = (inquiry)tracer_clear,
    .tp_init = (initproc)tracer_init,
    .tp_new = PyType_GenericNew,
    .tp_methods = tracer_methods,
    .tp_members = tracer_members,
    .tp_doc = "Tracer(filename, lines, states, names, cache, stable, value_text, line_binds, abort, limit, "
              "max_steps, frames=False): the recorder's trace function in C.",
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tracer._ctrace",
                                    "The recorder's trace function in C (see tracer.recorder).", -1, NULL};

PyMODINIT_FUNC PyInit__ctrace(void) {
    if (PyType_Ready(&FrameRecType) < 0 || PyType_Ready(&TracerType) < 0)
        return NULL;
    S_AT = PyUnicode_InternFromString(" at 0x");
    S_ELLIPSIS = PyUnicode_InternFromString("...");
    PyObject *m = PyModule_Create(&module);
    if (m == NULL || S_AT == NULL || S_ELLIPSIS == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "VERSION", CTRACE_VERSION) < 0 ||
        PyModule_AddObjectRef(m, "Tracer", (PyObject *)&TracerType) < 0 ||
        PyModule_AddObjectRef(m, "FrameRec", (PyObject *)&FrameRecType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
