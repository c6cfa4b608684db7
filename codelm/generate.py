"""Decoding with the core's LM head. Greedy for now; beam search and sampling come later."""

from __future__ import annotations

import torch

from codelm.model import CodeLM


@torch.no_grad()
def greedy(model: CodeLM, input_ids: torch.Tensor, max_new_tokens: int, eos_id: int | None = None,
           mode: str = "decoder", use_cache: bool = True) -> torch.LongTensor:
    """The most likely continuation of each prompt, one argmax token at a time.

    input_ids (batch, length): prompts of equal length without padding. mode "decoder" treats
    the prompt as the start of a causal sequence; "prefix" treats it as the source that the
    generated target attends to bidirectionally (UniXcoder's encoder-decoder mode).
    Returns only the new tokens, (batch, n <= max_new_tokens); a row that produced eos_id is
    filled with the pad id after it, and decoding stops once every row has. use_cache=False
    recomputes the whole sequence each step (same tokens, slower; kept for testing).
    """
    if mode not in ("decoder", "prefix"):
        raise ValueError(f"greedy decodes in mode 'decoder' or 'prefix', not {mode!r}")
    was_training = model.training
    model.eval()
    batch, length = input_ids.shape
    prefix = torch.full((batch,), length, device=input_ids.device) if mode == "prefix" else None
    pad = model.config.pad_token_id
    done = torch.zeros(batch, dtype=torch.bool, device=input_ids.device)
    sequence, step_input, past, new = input_ids, input_ids, None, []
    for _ in range(max_new_tokens):
        if use_cache:
            out = model(step_input, mode=mode, prefix_lengths=prefix, past_key_values=past, use_cache=True)
            past = out.past_key_values
        else:
            out = model(sequence, mode=mode, prefix_lengths=prefix)
        token = model.lm_logits(out.last_hidden_state[:, -1]).argmax(-1)
        if eos_id is not None:
            token = torch.where(done, torch.full_like(token, pad), token)
            done |= token == eos_id
        new.append(token)
        step_input = token[:, None]
        sequence = torch.cat([sequence, step_input], dim=1)
        if eos_id is not None and bool(done.all()):
            break
    model.train(was_training)
    return torch.stack(new, dim=1) if new else input_ids.new_empty(batch, 0)
