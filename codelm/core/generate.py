"""Decoding with the core's LM head: greedy, beam search (length penalty, no-repeat n-grams)
and sampling (temperature, top-k, top-p), all incremental with the key/value cache."""

from __future__ import annotations

import math

import torch

from codelm.core.model import CodeLM


class _Stepper:
    """Feeds a batch of prompts and then one token per step to the model, with or without the
    key/value cache; keeps the attention mask and the cache in step with reordered rows."""

    def __init__(self, model: CodeLM, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                 mode: str, use_cache: bool) -> None:
        if mode not in ("decoder", "prefix"):
            raise ValueError(f"generation runs in mode 'decoder' or 'prefix', not {mode!r}")
        batch, length = input_ids.shape
        self.model, self.mode, self.use_cache = model, mode, use_cache
        self.prefix = torch.full((batch,), length, device=input_ids.device) if mode == "prefix" else None
        self.mask = attention_mask
        self.sequence, self.pending, self.past = input_ids, input_ids, None

    def logits(self) -> torch.Tensor:
        """Next-token logits (batch, vocab) in float32."""
        if self.use_cache:
            out = self.model(self.pending, self.mask, mode=self.mode, prefix_lengths=self.prefix,
                             past_key_values=self.past, use_cache=True)
            self.past = out.past_key_values
        else:
            out = self.model(self.sequence, self.mask, mode=self.mode, prefix_lengths=self.prefix)
        return self.model.lm_logits(out.last_hidden_state[:, -1]).float()

    def advance(self, tokens: torch.Tensor, order: torch.Tensor | None = None) -> None:
        """Append tokens (batch,) after reordering the rows by `order` (beam search)."""
        if order is not None:
            self.sequence = self.sequence[order]
            self.mask = None if self.mask is None else self.mask[order]
            if self.past is not None:
                self.past = [(k[order], v[order]) for k, v in self.past]
        self.pending = tokens[:, None]
        self.sequence = torch.cat([self.sequence, self.pending], dim=1)
        if self.mask is not None:
            self.mask = torch.cat([self.mask, torch.ones_like(self.pending)], dim=1)


def _pad_rows(rows: list[list[int]], pad: int, like: torch.Tensor) -> torch.LongTensor:
    width = max((len(r) for r in rows), default=0)
    out = torch.full((len(rows), width), pad, dtype=torch.long, device=like.device)
    for i, r in enumerate(rows):
        out[i, :len(r)] = torch.tensor(r, dtype=torch.long)
    return out


def banned_ngram_tokens(tokens: list[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram already present in `tokens` (no-repeat n-grams)."""
    if n <= 0 or len(tokens) < n:
        return set()
    if n == 1:
        return set(tokens)
    tail = tuple(tokens[len(tokens) - n + 1:])
    return {tokens[i + n - 1] for i in range(len(tokens) - n + 1) if tuple(tokens[i:i + n - 1]) == tail}


def length_normalized(log_prob: float, length: int, length_penalty: float) -> float:
    """Beam ranking score: sum of token log-probabilities / length ** length_penalty, where length
    counts the generated tokens including eos (fairseq's and transformers' rule). Penalty 0
    ranks by raw log-probability; larger penalties favour longer outputs."""
    return log_prob / (max(length, 1) ** length_penalty)


@torch.no_grad()
def beam_search(model: CodeLM, input_ids: torch.Tensor, max_new_tokens: int, num_beams: int = 4,
                eos_id: int | None = None, length_penalty: float = 1.0, no_repeat_ngram_size: int = 0,
                mode: str = "decoder", attention_mask: torch.Tensor | None = None,
                use_cache: bool = True, repetition_penalty: float = 1.0) -> torch.LongTensor:
    """The best continuation of each prompt by beam search; returns new tokens as `greedy` does.

    Each step extends every live beam by every token, keeps 2 * num_beams candidates per prompt,
    sets aside those ending in eos among the first num_beams (a finished hypothesis, ranked by
    `length_normalized`; the best num_beams are kept) and keeps the best num_beams others alive.
    A prompt is done once it has num_beams finished hypotheses and its best live beam, scored at
    its current length, ranks below the worst of them (transformers' rule); at max_new_tokens
    the live beams compete too. no_repeat_ngram_size > 0 forbids any n-gram of generated tokens twice;
    repetition_penalty > 1 lowers the log-probability of every token already generated in a beam
    by log(repetition_penalty) (a softer guard against repeated words).
    attention_mask (batch, length) marks real prompt tokens, for left-padded prompts.
    Width 1 without n-gram blocking gives exactly `greedy`'s tokens.
    """
    batch, _ = input_ids.shape
    k, pad = num_beams, model.config.pad_token_id
    was_training = model.training
    model.eval()
    mask = None if attention_mask is None else attention_mask.repeat_interleave(k, 0)
    stepper = _Stepper(model, input_ids.repeat_interleave(k, 0), mask, mode, use_cache)
    scores = [[0.0] + [-math.inf] * (k - 1) for _ in range(batch)]
    beams: list[list[int]] = [[] for _ in range(batch * k)]
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(batch)]
    done = [False] * batch
    for step in range(max_new_tokens):
        logp = torch.log_softmax(stepper.logits(), dim=-1)
        if no_repeat_ngram_size > 0:
            for row, tokens in enumerate(beams):
                banned = banned_ngram_tokens(tokens, no_repeat_ngram_size)
                if banned:
                    logp[row, list(banned)] = -math.inf
        if repetition_penalty != 1.0:
            for row, tokens in enumerate(beams):
                if tokens:
                    logp[row, list(set(tokens))] -= math.log(repetition_penalty)
        vocab = logp.shape[-1]
        total = logp + torch.tensor(scores, device=logp.device).view(-1, 1)
        top_scores, top_index = total.view(batch, k * vocab).topk(min(2 * k, k * vocab), dim=1)
        order, new_tokens = [], []
        for b in range(batch):
            alive: list[tuple[float, int, int]] = []
            if not done[b]:
                for rank, (s, index) in enumerate(zip(top_scores[b].tolist(), top_index[b].tolist())):
                    beam, token = divmod(index, vocab)
                    if s == -math.inf or len(alive) == k:
                        break
                    if eos_id is not None and token == eos_id:
                        if rank < k:
                            hyp = beams[b * k + beam] + [token]
                            finished[b].append((length_normalized(s, step + 1, length_penalty), hyp))
                            finished[b] = sorted(finished[b], key=lambda p: -p[0])[:k]
                        continue
                    alive.append((s, b * k + beam, token))
                best_alive = length_normalized(alive[0][0], step + 1, length_penalty) if alive else -math.inf
                done[b] = len(finished[b]) >= k and best_alive <= finished[b][-1][0]
            while len(alive) < k:  # a finished prompt or too few candidates: dead rows
                alive.append((-math.inf, b * k, pad))
            scores[b] = [s for s, _, _ in alive]
            order += [row for _, row, _ in alive]
            new_tokens += [t for _, _, t in alive]
        if all(done):
            break
        beams = [beams[row] + [t] for row, t in zip(order, new_tokens)]
        index = torch.tensor(order, device=input_ids.device)
        stepper.advance(torch.tensor(new_tokens, device=input_ids.device), index)
    best = []
    for b in range(batch):
        pool = list(finished[b])
        if not done[b]:
            pool += [(length_normalized(s, len(beams[b * k + j]), length_penalty), beams[b * k + j])
                     for j, s in enumerate(scores[b]) if s > -math.inf]
        best.append(max(pool, key=lambda p: p[0])[1] if pool else [])
    model.train(was_training)
    return _pad_rows(best, pad, input_ids)


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Logits (batch, vocab) with all but the top_k most likely tokens (0: no limit) and all
    outside the nucleus (the fewest most likely tokens whose probability reaches top_p) set to
    -inf; the most likely token always stays."""
    logits = logits.clone()
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits[logits < kth] = -math.inf
    if top_p < 1.0:
        sorted_logits, sorted_index = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= top_p  # mass before this token already enough
        drop[:, 0] = False
        logits.scatter_(1, sorted_index, sorted_logits.masked_fill(drop, -math.inf))
    return logits


def _decode(model: CodeLM, input_ids: torch.Tensor, max_new_tokens: int, eos_id: int | None, mode: str,
            attention_mask: torch.Tensor | None, use_cache: bool, pick) -> torch.LongTensor:
    """One token per step for every row, chosen by `pick(logits)`; rows stop at eos_id (pad after)."""
    was_training = model.training
    model.eval()
    batch = input_ids.shape[0]
    pad = model.config.pad_token_id
    stepper = _Stepper(model, input_ids, attention_mask, mode, use_cache)
    done = torch.zeros(batch, dtype=torch.bool, device=input_ids.device)
    new = []
    for _ in range(max_new_tokens):
        token = pick(stepper.logits())
        if eos_id is not None:
            token = torch.where(done, torch.full_like(token, pad), token)
            done |= token == eos_id
        new.append(token)
        stepper.advance(token)
        if eos_id is not None and bool(done.all()):
            break
    model.train(was_training)
    return torch.stack(new, dim=1) if new else input_ids.new_empty(batch, 0)


@torch.no_grad()
def greedy(model: CodeLM, input_ids: torch.Tensor, max_new_tokens: int, eos_id: int | None = None,
           mode: str = "decoder", use_cache: bool = True,
           attention_mask: torch.Tensor | None = None) -> torch.LongTensor:
    """The most likely continuation of each prompt, one argmax token at a time.

    input_ids (batch, length): prompts (left-padded, with attention_mask, or of equal length).
    mode "decoder" treats the prompt as the start of a causal sequence; "prefix" treats it as
    the source that the generated target attends to bidirectionally (UniXcoder's
    encoder-decoder mode). Returns only the new tokens, (batch, n <= max_new_tokens); a row
    that produced eos_id is filled with the pad id after it, and decoding stops once every row
    has. use_cache=False recomputes the whole sequence each step (same tokens, slower).
    """
    return _decode(model, input_ids, max_new_tokens, eos_id, mode, attention_mask, use_cache,
                   lambda logits: logits.argmax(-1))


@torch.no_grad()
def sample(model: CodeLM, input_ids: torch.Tensor, max_new_tokens: int, eos_id: int | None = None,
           mode: str = "decoder", temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
           generator: torch.Generator | None = None, attention_mask: torch.Tensor | None = None,
           use_cache: bool = True) -> torch.LongTensor:
    """Random continuations: each token drawn from softmax(logits / temperature) after
    `filter_logits`; returns new tokens as `greedy` does. Draws use `generator` (a CPU
    torch.Generator), so a seeded generator gives the same tokens on every device."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0; use greedy for argmax decoding")

    def pick(logits: torch.Tensor) -> torch.Tensor:
        probs = filter_logits(logits / temperature, top_k, top_p).softmax(-1).cpu()
        return torch.multinomial(probs, 1, generator=generator).squeeze(1).to(input_ids.device)

    return _decode(model, input_ids, max_new_tokens, eos_id, mode, attention_mask, use_cache, pick)
