"""The codelm core: a post-norm BERT/RoBERTa transformer, readable top to bottom.

One set of weights serves three attention modes, as in UniXcoder:
  encoder  every token sees every non-pad token (bidirectional);
  decoder  every token sees itself and earlier tokens (causal);
  prefix   the first `prefix_length` tokens (the source) see the whole source and never
           the target; target tokens see the source and earlier target tokens.
A key/value cache makes incremental decoding cost one token per step. Heads: masked LM
(also the LM head, as in UniXcoder), ELECTRA token discriminator, pooled embedding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from codelm.core.config import ModelConfig

KV = tuple[torch.Tensor, torch.Tensor]  # (keys, values), each (batch, heads, length, head_dim)
MODES = ("encoder", "decoder", "prefix")


def activation(name: str):
    """The function of an activation that ModelConfig accepts (`config.ACTIVATIONS`): exact gelu,
    the tanh approximation under both of its transformers names, relu, silu."""
    if name.startswith("gelu"):
        return F.gelu if name == "gelu" else partial(F.gelu, approximate="tanh")
    return getattr(F, name)


@dataclass
class CoreOutput:
    """Hidden states of the last layer (batch, length, hidden) and, with use_cache, the new cache."""

    last_hidden_state: torch.Tensor
    past_key_values: list[KV] | None = None


def build_attention_mask(mode: str, length: int, past_length: int = 0,
                         key_padding: torch.Tensor | None = None,
                         prefix_lengths: torch.Tensor | None = None,
                         device: torch.device | None = None) -> tuple[torch.Tensor | None, bool]:
    """The attention rule of `mode` as (mask, is_causal) for `scaled_dot_product_attention`.

    mask is boolean (batch or 1, 1, length or 1, past_length + length), True where a query may
    see a key (one row for all queries when only padding is masked); None when every query sees
    every key (or when is_causal says it all). Queries sit at
    absolute positions past_length .. past_length + length - 1. key_padding (batch,
    past_length + length) is True at real tokens. A query that would see no key at all (a row
    of padding) sees itself instead, so softmax never yields NaN.
    """
    if mode not in MODES:
        raise ValueError(f"unknown attention mode {mode!r}; use one of {MODES}")
    if mode == "prefix" and prefix_lengths is None:
        raise ValueError("mode='prefix' needs prefix_lengths")
    if key_padding is None and (mode == "encoder" or (mode == "decoder" and length == 1)):
        return None, False
    if key_padding is None and mode == "decoder" and past_length == 0:
        return None, True
    if mode == "encoder" and bool(key_padding.any(-1).all()):
        return key_padding.bool()[:, None, None, :], False  # every row has a key to see
    total = past_length + length
    q = torch.arange(past_length, total, device=device)[:, None]
    k = torch.arange(total, device=device)[None, :]
    allowed = torch.ones(1, 1, length, total, dtype=torch.bool, device=device)
    if mode != "encoder":
        allowed = (k <= q)[None, None]
    if mode == "prefix":
        p = prefix_lengths.to(device).view(-1, 1, 1, 1)
        allowed = torch.where(q < p, k < p, allowed)
    if key_padding is not None:
        allowed = allowed & key_padding.bool()[:, None, None, :]
    blind = ~allowed.any(-1, keepdim=True)
    return allowed | (blind & (k == q)), False


class Embeddings(nn.Module):
    """Word + position + token type embeddings, then LayerNorm and dropout."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.word = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.dropout = nn.Dropout(c.hidden_dropout)

    def forward(self, input_ids: torch.Tensor, position_ids: torch.Tensor,
                token_type_ids: torch.Tensor | None) -> torch.Tensor:
        types = self.token_type.weight[0] if token_type_ids is None else self.token_type(token_type_ids)
        x = self.word(input_ids) + types + self.position(position_ids)
        return self.dropout(self.norm(x))


class Block(nn.Module):
    """Post-norm transformer block: x = norm(x + attn(x)); x = norm(x + ffn(x))."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.num_heads, self.attention_dropout = c.num_heads, c.attention_dropout
        self.qkv = nn.Linear(c.hidden_size, 3 * c.hidden_size)  # query, key, value fused
        self.attn_out = nn.Linear(c.hidden_size, c.hidden_size)
        self.attn_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.ffn_in = nn.Linear(c.hidden_size, c.intermediate_size)
        self.ffn_out = nn.Linear(c.intermediate_size, c.hidden_size)
        self.ffn_norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.act = activation(c.hidden_act)
        self.dropout = nn.Dropout(c.hidden_dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, is_causal: bool,
                past: KV | None) -> tuple[torch.Tensor, KV]:
        b, t, h = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        p = self.attention_dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=is_causal)
        x = self.attn_norm(x + self.dropout(self.attn_out(a.transpose(1, 2).reshape(b, t, h))))
        x = self.ffn_norm(x + self.dropout(self.ffn_out(self.act(self.ffn_in(x)))))
        return x, (k, v)


class MaskedLMHead(nn.Module):
    """dense -> activation -> LayerNorm -> vocabulary projection (tied to the word embeddings) + bias."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        # transformers' RoBERTa head always uses exact gelu; BERT's uses hidden_act
        self.act = F.gelu if c.layout == "roberta" else activation(c.hidden_act)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))
        self.decoder = None if c.tie_word_embeddings else nn.Linear(c.hidden_size, c.vocab_size, bias=False)

    def forward(self, h: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        weight = word_embeddings if self.decoder is None else self.decoder.weight
        return F.linear(self.norm(self.act(self.dense(h))), weight, self.bias)


class DiscriminatorHead(nn.Module):
    """ELECTRA replaced-token detection: dense -> activation -> dense to one logit per token."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.act = activation(c.hidden_act)
        self.out = nn.Linear(c.hidden_size, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.dense(h))).squeeze(-1)


class CodeLM(nn.Module):
    """The core model: embeddings, `num_layers` blocks, and the heads."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.mlm = MaskedLMHead(config)
        self.discriminator = DiscriminatorHead(config)
        self.apply(self._init_weights)

    def keep_layers(self, n: int) -> "CodeLM":
        """Drop every block above the first `n` (a shallower model that starts from this one's
        lower blocks, as small re-rankers are cut from a deeper encoder); returns self."""
        if not 1 <= n <= len(self.blocks):
            raise ValueError(f"cannot keep {n} of {len(self.blocks)} blocks")
        self.blocks = self.blocks[:n]
        self.config.num_layers = n
        return self

    def _init_weights(self, m: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=std)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            nn.init.zeros_(m.weight[m.padding_idx])

    def position_ids(self, input_ids: torch.Tensor, past_length: int = 0) -> torch.Tensor:
        """BERT: past_length, past_length + 1, ...; RoBERTa: counts real tokens from pad_token_id + 1
        (after the cache), pad tokens get pad_token_id, as transformers does."""
        length = input_ids.shape[1]
        if past_length + length > self.config.max_length:
            raise ValueError(f"sequence of {past_length + length} tokens exceeds the model's "
                             f"{self.config.max_length} positions")
        if self.config.layout == "bert":
            return torch.arange(past_length, past_length + length, device=input_ids.device)[None]
        real = (input_ids != self.config.pad_token_id).long()
        return (torch.cumsum(real, dim=1) + past_length) * real + self.config.pad_token_id

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                mode: str = "encoder", prefix_lengths: torch.Tensor | int | None = None,
                token_type_ids: torch.Tensor | None = None, past_key_values: list[KV] | None = None,
                use_cache: bool = False) -> CoreOutput:
        """Hidden states of `input_ids` (batch, length).

        attention_mask (batch, cached + length): 1 at real tokens, 0 at padding; None = all real.
        prefix_lengths (int or (batch,)): source length per row, for mode="prefix".
        past_key_values: the cache from an earlier call; positions continue after it.
        """
        past_length = past_key_values[0][0].shape[2] if past_key_values else 0
        length = input_ids.shape[1]
        key_padding = None
        if attention_mask is not None:
            if attention_mask.shape[1] != past_length + length:
                raise ValueError(f"attention_mask covers {attention_mask.shape[1]} tokens, "
                                 f"expected cached + new = {past_length + length}")
            if not bool(attention_mask.all()):
                key_padding = attention_mask.bool()
        if isinstance(prefix_lengths, int):
            prefix_lengths = torch.tensor([prefix_lengths], device=input_ids.device)
        mask, is_causal = build_attention_mask(mode, length, past_length, key_padding,
                                               prefix_lengths, input_ids.device)
        x = self.embeddings(input_ids, self.position_ids(input_ids, past_length), token_type_ids)
        if mask is not None:  # additive once here, not converted again by each block's attention
            mask = torch.zeros(mask.shape, dtype=x.dtype, device=x.device).masked_fill_(~mask, float("-inf"))
        cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, mask, is_causal, past_key_values[i] if past_key_values else None)
            cache.append(kv)
        return CoreOutput(x, cache if use_cache else None)

    def mlm_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits of hidden states h (..., hidden); pass only the positions you need."""
        return self.mlm(h, self.embeddings.word.weight)

    lm_logits = mlm_logits  # next-token logits: the masked-LM head, shared as in UniXcoder

    def discriminator_logits(self, h: torch.Tensor) -> torch.Tensor:
        """One replaced-token logit per position: (..., hidden) -> (...)."""
        return self.discriminator(h)

    def score_pairs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    token_type_ids: torch.Tensor) -> torch.Tensor:
        """Cross-encoder relevance logits (batch,) of "[CLS] a [SEP] b [SEP]" rows: the
        discriminator head on the mean of the real tokens' states. Not on [CLS]: in MiniLM's
        lower blocks the [CLS] state is the same for every input (std 0.0005 across pairs after
        3 blocks), so a head on it cannot learn."""
        h = self(input_ids, attention_mask, token_type_ids=token_type_ids).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.discriminator_logits(pooled).reshape(-1)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
              normalize: bool = True) -> torch.Tensor:
        """Sentence embeddings (batch, hidden): mean over real tokens, then L2 norm
        (sentence-transformers' pooling). attention_mask defaults to input_ids != pad."""
        if attention_mask is None:
            attention_mask = (input_ids != self.config.pad_token_id).long()
        h = self(input_ids, attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1) if normalize else pooled
