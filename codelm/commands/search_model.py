"""Contrastive training and evaluation of search encoders."""

from __future__ import annotations

import argparse
import json

from codelm.commands import add_time_budget, time_limit

TRAIN_HELP = """Fine-tunes a search encoder (default: the embedded MiniLM) with the contrastive
objective (InfoNCE, in-batch negatives) on the docstring-code pairs of a corpus made by
`codelm corpus`. Settings as key=value: the objective's temperature (0.05), symmetric (true),
hard_negatives (false), negatives_model (mine hard negatives with this encoder as well as BM25,
e.g. minilm-code), sentence_share / name_share (share of queries that are the summary's first
sentence / the function's name in words), max_length (256), query_length (64), and TrainConfig
fields (lr 2e-5, batch_size 32, warmup_steps, precision, threads, ...). --out becomes an
encoder directory usable as `codelm index --model OUT` and `codelm eval search --model OUT`.

With --queries-only it trains a query tower for --base instead (default then: minilm-code):
a copy of the encoder that encodes queries, against --base's own code vectors of the whole
corpus (embedded once, cached in the corpus folder), which do not change: indexes made by
--base keep their vectors. Settings: sentence_share (0.6), name_share (0.1), temperature,
query_length, and TrainConfig fields (lr 5e-5, batch_size 64, ...). --delta BASE_DIR/query
installs it: search then encodes queries with it. --init DIR starts from a trained tower
(e.g. codelm/data/minilm_code/query) to train it further, on a larger corpus or longer.

With --codes-only it trains the other side: the top --train-layers blocks (default 3) of --base
(default minilm-code) encode code, against the fixed vectors its query tower gives the
corpus' first summary sentences (embedded once, cached in the corpus folder). Settings:
max_length (128), temperature, and TrainConfig fields (lr 3e-5, batch_size 32, ...). --delta
DIR writes it as a new encoder: a delta over what --base is a delta of (MiniLM), with --base's
query tower copied in. Indexes made before must be rebuilt."""

RERANK_HELP = """Trains a cross-encoder re-ranker for search: the model reads "query [SEP] code" and
scores it; search re-orders its top candidates by that score. Starts from the embedded MiniLM
cut to its first --layers blocks (default 3), trained with a score head on groups of a
summary's own code and its hard negatives mined by BM25 and negatives_model. Settings as
key=value: group (4 pairs per summary), max_length (128), negatives_model, sentence_share (0.5),
and TrainConfig fields (lr 5e-5, batch_size 8 summaries, threads, ...)."""


def register(commands) -> None:
    """Add `train search` and `eval search`."""
    p = commands.add("train search", "train a search encoder (contrastive)",
                     "codelm train search --data corpus --out runs/search --max-steps 500", run_train,
                     description=TRAIN_HELP)
    _fine_tune_options(p, "the trained encoder")
    p.add_argument("--train-layers", type=int, metavar="N",
                   help="train only the top N blocks (the rest frozen: faster, and a small delta to ship)")
    p.add_argument("--delta", metavar="DIR", help="also write the tensors that training changed, in half "
                   "precision, as a small delta directory over --base (how codelm/data/minilm_code is made)")
    p.add_argument("--queries-only", action="store_true", help="train a query tower for --base against its "
                   "fixed code vectors (see above; how codelm/data/minilm_code/query is made)")
    p.add_argument("--codes-only", action="store_true", help="train the code side of --base against its "
                   "query tower's fixed vectors of the corpus' queries (indexes must then be rebuilt)")
    p.add_argument("--init", metavar="DIR", help="with --queries-only: start from this query tower "
                   "(a run or a delta directory) instead of a copy of --base")
    p = commands.add("train rerank", "train a search re-ranker (cross-encoder)",
                     "codelm train rerank --data corpus --out runs/rerank --time 45m negatives_model=minilm-code",
                     run_train_rerank, description=RERANK_HELP)
    _fine_tune_options(p, "the trained re-ranker")
    p.add_argument("--layers", type=int, default=3, metavar="N",
                   help="keep the base's first N blocks (default 3: the re-ranker's depth is its latency)")
    p.add_argument("--train-layers", type=int, metavar="N", help="train only the top N of them (default: all)")
    p.add_argument("--delta", metavar="DIR", help="also write the changed blocks and the head, in half "
                   "precision, as a small delta directory over --base (how a re-ranker would ship)")
    p = commands.add("eval search", "evaluate search encoders (MRR@10, recall, NDCG)",
                     "codelm eval search --data corpus --model runs/search", run_eval)
    p.add_argument("--data", required=True, help="corpus directory: its valid split's summaries are the queries")
    p.add_argument("--split", default="valid", help="corpus split to evaluate on (default: valid)")
    p.add_argument("--model", action="append", default=[], help="trained encoder directory (repeatable)")
    p.add_argument("--k", type=int, default=10, help="cut-off of MRR (default 10)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")


def _fine_tune_options(p, what: str) -> None:
    """The options `train search` and `train rerank` share."""
    p.add_argument("--data", required=True, help="corpus directory from `codelm corpus`")
    p.add_argument("--out", required=True, help=f"output directory ({what})")
    p.add_argument("--base", help="model to start from (default: the embedded MiniLM; minilm-code for a query tower)")
    p.add_argument("--max-steps", type=int, help="optimizer steps (default: TrainConfig's)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    add_time_budget(p)
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="objective or TrainConfig settings")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run_train(args: argparse.Namespace) -> int:
    from codelm.errors import UsageError
    from codelm.recipes.search import QUERY_LAYERS, train_queries, train_search

    args.base = args.base or ("minilm-code" if args.queries_only or args.codes_only else "minilm")
    if args.init and not args.queries_only:
        raise UsageError("--init starts a query tower from a trained one: it needs --queries-only")
    if args.codes_only and args.queries_only:
        raise UsageError("--codes-only and --queries-only train opposite sides: choose one")
    if args.codes_only:
        from codelm.recipes.search import CODE_LAYERS, train_codes

        result = train_codes(args.data, args.out, args.max_steps, args.overrides, args.base, args.resume,
                             args.train_layers or CODE_LAYERS, time_limit(args))
    elif args.queries_only:
        result = train_queries(args.data, args.out, args.max_steps, args.overrides, args.base, args.resume,
                               args.train_layers or QUERY_LAYERS, time_limit(args), args.init)
    else:
        result = train_search(args.data, args.out, args.max_steps, args.overrides, args.base, args.resume,
                              args.train_layers, time_limit(args))
    if args.delta:
        from codelm.recipes.search import write_code_delta, write_delta

        write = write_code_delta if args.codes_only else write_delta
        result["delta"] = {"dir": args.delta, **write(args.out, args.delta, args.base)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"trained {result['step']} steps on {result['train_pairs']} pairs ({result['pairs_per_s']} pairs/s); "
              f"train loss {result['train_loss']:.4f}; valid {json.dumps(result['valid'])}; encoder in {result['out_dir']}")
    return 0


def run_train_rerank(args: argparse.Namespace) -> int:
    from codelm.recipes.rerank import HEADS, train_rerank

    args.base = args.base or "minilm"
    result = train_rerank(args.data, args.out, args.max_steps, args.overrides, args.base, args.resume,
                          args.train_layers, time_limit(args), args.layers)
    if args.delta:
        from codelm.recipes.search import write_delta

        result["delta"] = {"dir": args.delta, **write_delta(args.out, args.delta, args.base, heads=HEADS)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"trained {result['step']} steps on {result['train_pairs']} pairs; train loss "
              f"{result['train_loss']:.4f}; valid {json.dumps(result['valid'])}; re-ranker in {result['out_dir']}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    from codelm.errors import UsageError
    from codelm.tasks.search.evaluate import corpus_eval_set, evaluate_search

    if args.k < 1:
        raise UsageError("--k must be at least 1")
    eval_set = corpus_eval_set(args.data, args.split)
    models = {"minilm": "minilm", "minilm-code": "minilm-code",
              **{(m if len(args.model) > 1 else "trained"): m for m in args.model}}
    table = evaluate_search(eval_set, models, args.k)
    if args.json:
        print(json.dumps({"queries": len(eval_set.queries), "candidates": len(eval_set.texts), "systems": table}))
        return 0
    columns = list(next(iter(table.values())))
    print(f"{len(eval_set.queries)} queries over {len(eval_set.texts)} candidates")
    print(f"{'system':<24}" + "".join(f"{c:>11}" for c in columns))
    for system, row in table.items():
        print(f"{system:<24}" + "".join(f"{row[c]:>11.4f}" for c in columns))
    return 0
