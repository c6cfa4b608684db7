"""Docstring generation (PyMT5-style)."""

from __future__ import annotations

import argparse
import json
import sys

from codelm.commands import add_time_budget, time_limit
from codelm.errors import UsageError

COPY_HELP = "frozen models: logit bias of the function's name and parameter words (default 1.0; 0: none)"
MEMORY_HELP = ("frozen models: let the decoder write every docstring (by default a near copy of a training "
               "function gets that function's summary)")
TRAIN_HELP = """Trains a docstring model. --arch frozen (default, the shipped model's recipe): a small
decoder cross-attends to a frozen MiniLM encoder (minilm-code by default) whose states are
computed once per corpus and cached (--states); it writes the docstring's first sentence with
the cased code tokenizer. --arch prefix-lm: PyMT5-style, every documented function gives
examples in four directions (signature+body -> docstring, signature -> docstring,
signature+docstring -> body, docstring -> signature+body), named by a control comment, trained
with teacher-forced cross-entropy in prefix mode (one set of weights as encoder-decoder).
Settings are key=value: trainer fields (lr, batch_size, warmup_steps, max_steps, ...) and model
fields (frozen: DecoderConfig's hidden_size, num_layers, encoder, ...; prefix-lm: ModelConfig's)."""


DOCSTRING_HELP = """Writes a docstring summary for one function (FILE --name), for each line of a
JSONL file (--pairs), or into a Python file where docstrings are missing (FILE --missing: shown
as a unified diff, or written with --write), in the file's own indentation and quote style.

examples:
  codelm docstring mod.py --name Parser.parse
  codelm docstring mod.py --missing --diff | less
  codelm docstring mod.py --missing --write --name Parser.parse"""


def register(commands) -> None:
    """Add this area's subcommands."""
    p = commands.add("docstring", "write a docstring for a function", "codelm docstring mod.py --name Parser.parse",
                     run_docstring, description=DOCSTRING_HELP)
    p.add_argument("file", nargs="?", help="source file holding the function")
    p.add_argument("--name", help="qualified name of the function (Class.method)")
    p.add_argument("--missing", action="store_true",
                   help="document every function and method of FILE that has no docstring (with --name: that one)")
    p.add_argument("--diff", action="store_true", help="with --missing: print the change as a unified diff (the default)")
    p.add_argument("--write", action="store_true", help="with --missing: write the docstrings into FILE "
                   "(refused if the file changed meanwhile)")
    p.add_argument("--force", action="store_true", help="with --missing: replace existing docstrings too")
    p.add_argument("--pairs", metavar="FILE.jsonl", help='JSONL of {"code", "id"?}: one docstring per line')
    p.add_argument("--model", help="docstring model directory (from `codelm train docstring`)")
    p.add_argument("--beams", type=int, default=4, help="beam width")
    p.add_argument("--max-tokens", type=int, default=48, help="longest docstring in tokens")
    p.add_argument("--copy", type=float, help=COPY_HELP)
    p.add_argument("--no-memory", action="store_true", help=MEMORY_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = commands.add("train docstring", "train a docstring model", "codelm train docstring --data corpus --out runs/doc",
                     run_train, description=TRAIN_HELP)
    p.add_argument("--data", required=True, help="corpus directory from `codelm corpus`")
    p.add_argument("--out", required=True, help="run directory; the model is written there")
    p.add_argument("--arch", default="frozen", choices=("frozen", "prefix-lm"),
                   help="frozen: decoder over a frozen MiniLM (default); prefix-lm: PyMT5 multi-mode core")
    p.add_argument("--states", help="frozen: encoder-state cache folder (default DATA/states-ENCODER-LENGTH)")
    p.add_argument("--held-out", metavar="FILE.jsonl", help="frozen: functions (corpus records) kept out of training")
    p.add_argument("--per-package", type=int, help="frozen: most functions of one site-packages package (default 800)")
    p.add_argument("--cached-only", action="store_true",
                   help="frozen: train on the functions already in the state cache, encoding none")
    p.add_argument("--init", help="frozen: a trained model directory to go on from (new schedule, e.g. more data); "
                   "prefix-lm: minilm (default), tiny, small, base, or a `codelm pretrain` output directory")
    p.add_argument("--max-steps", type=int, help="optimizer steps (default: TrainConfig's)")
    p.add_argument("--docstring-only", action="store_true", help="prefix-lm: train only signature+body -> docstring")
    p.add_argument("--objective", default="seq2seq", help="prefix-lm: seq2seq, or seq2seq+span (adds T5 span corruption)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    add_time_budget(p)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="ModelConfig/TrainConfig fields")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p = commands.add("eval docstring", "evaluate a docstring model (BLEU-4, ROUGE-L)",
                     "codelm eval docstring --data corpus --model runs/doc", run_eval)
    p.add_argument("--data", required=True, help="corpus directory from `codelm corpus`")
    p.add_argument("--model", help="docstring model directory (default: the shipped one)")
    p.add_argument("--split", default="valid", help="corpus split to score (train baselines use 'train')")
    p.add_argument("--limit", type=int, help="score only the first N documented functions")
    p.add_argument("--baselines-only", action="store_true", help="score only the template and retrieval baselines")
    p.add_argument("--bodies", action="store_true", help="also generate bodies and report the percent that parse")
    p.add_argument("--copy", type=float, help=COPY_HELP)
    p.add_argument("--no-memory", action="store_true", help=MEMORY_HELP)
    p.add_argument("--beams", type=int, default=4, help="beam width")
    p.add_argument("--json", action="store_true", help="print JSON")


def _read_pairs(path: str) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise UsageError(f"{path}:{number}: not JSON ({err.msg})")
            if not isinstance(row, dict) or not isinstance(row.get("code"), str):
                raise UsageError(f'{path}:{number}: each line needs a "code" string')
            rows.append(row)
    return rows


def _generation(args: argparse.Namespace) -> dict:
    """The beam-search settings of the command line, for `generate_docstrings`."""
    return {"num_beams": args.beams, **({} if args.copy is None else {"copy": args.copy}),
            **({"memory": False} if args.no_memory else {}),
            **({"max_new_tokens": args.max_tokens} if hasattr(args, "max_tokens") else {})}


def run_docstring(args: argparse.Namespace) -> int:
    from codelm.tasks.docstring.infer import find_function, find_model, generate_docstrings, load_model

    if bool(args.pairs) == bool(args.file):
        raise UsageError("give a FILE with --name, or --pairs FILE.jsonl")
    if (args.diff or args.write or args.force) and not args.missing:
        raise UsageError("--diff, --write and --force go with --missing")
    if args.missing:
        return _document_file(args)
    if args.file and not args.name:
        raise UsageError("--name QUALNAME is required with FILE (e.g. --name Parser.parse)")
    if args.pairs:
        rows = _read_pairs(args.pairs)
        codes = [r["code"] for r in rows]
    else:
        codes = [find_function(args.file, args.name)]  # a wrong name is said before a missing model
    find_model(args.model)
    model, tok = load_model(args.model)
    docs = generate_docstrings(model, tok, codes, **_generation(args))
    if args.pairs:
        for i, (row, doc) in enumerate(zip(rows, docs)):
            print(json.dumps({"id": row.get("id", i), "docstring": doc}))
    elif args.json:
        print(json.dumps({"name": args.name, "docstring": docs[0]}))
    else:
        print(docs[0])
    return 0


def run_train(args: argparse.Namespace) -> int:
    from codelm.recipes.docstring import train_docstring

    frozen = {"states": args.states, "held_out": args.held_out, "per_package": args.per_package,
              "cached_only": args.cached_only or None}
    if args.arch == "frozen":
        result = train_docstring(args.data, args.out, args.init, overrides=args.overrides, max_steps=args.max_steps,
                                 resume=args.resume, time_limit=time_limit(args), arch="frozen",
                                 **{k: v for k, v in frozen.items() if v is not None})
    elif any(v is not None for v in frozen.values()):
        raise UsageError("--states, --held-out, --per-package and --cached-only apply to --arch frozen only")
    else:
        result = train_docstring(args.data, args.out, args.init, args.overrides, args.max_steps,
                                 docstring_only=args.docstring_only, resume=args.resume, objective=args.objective,
                                 time_limit=time_limit(args), arch="prefix-lm")
    if args.json:
        print(json.dumps(result))
    else:
        print(f"trained {result['step']} steps on {result['train_examples']} examples; train loss "
              f"{result['train_loss']:.4f}; valid {json.dumps(result['valid'])}; model in {result['out_dir']}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from codelm.tasks.docstring.evaluate import evaluate

    result = evaluate(args.data, args.model, args.split, args.limit, with_model=not args.baselines_only,
                      bodies=args.bodies, **_generation(args))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{result['count']} functions of split {result['split']}:", file=sys.stderr)
    for name in ("model", "template", "retrieval"):
        if name in result:
            s = result[name]
            print(f"{name:10s} BLEU-4 {s['bleu']:6.2f}  ROUGE-L {s['rouge_l']:6.2f}  exact {s['exact_match']:6.2f}")
    if "body_parses" in result:
        print(f"generated bodies that parse: {result['body_parses']:.1f}%")
    return 0


def _document_file(args: argparse.Namespace) -> int:
    """`--missing`: docstrings for the undocumented functions of FILE, as a diff or written."""
    from codelm.tasks.docstring.infer import find_model, generate_docstrings, load_model
    from codelm.tasks.docstring.insert import document_file, unified_diff, write_if_unchanged

    if args.diff and args.write:
        raise UsageError("give --diff or --write, not both")
    find_model(args.model)
    loaded: list = []

    def write(units):
        if not loaded:
            loaded.extend(load_model(args.model))
        return generate_docstrings(*loaded, units, **_generation(args))

    change = document_file(args.file, write, {args.name} if args.name else None, args.force)
    if args.write and change.docstrings:
        write_if_unchanged(change.path, change.after, change.read_digest)
    if args.json:
        print(json.dumps({"path": str(change.path), "docstrings": change.docstrings, "written": bool(args.write)}))
    elif not args.write:
        sys.stdout.write(unified_diff(change.before, change.after, str(change.path)))
    verb = "wrote" if args.write else "would write"
    n = len(change.docstrings)
    print(f"{verb} {n} docstring{'' if n == 1 else 's'} in {change.path}", file=sys.stderr)
    return 0
