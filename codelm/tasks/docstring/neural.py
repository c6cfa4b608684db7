"""The frozen-encoder docstring model: a small transformer decoder that cross-attends to the
states of a frozen MiniLM encoder and writes a cased summary with the code tokenizer.

Why cross-attention rather than the core in prefix mode: the encoder is frozen and its
states are cached, so what trains is only the decoder; in prefix mode every decoder layer
would also run self-attention and its feed-forward over the ~70 source positions of each
function, about twice the multiply-adds of cross-attention at these sizes, i.e. half the
training in a fixed wall-clock budget. The core (`codelm.model`) has no cross-attention, so
the decoder lives here; it reuses the core's generation (`codelm.generate.beam_search`)
through `Bound`, which presents a decoder plus its memory as a core-like model.

Blocks are pre-norm (stable from scratch at a high learning rate): causal self-attention with
a key/value cache, cross-attention to the memory, feed-forward. The memory's keys and values
are one projection of the encoder states shared by all blocks (each block has its own
queries): per-block projections of ~70 source positions were the largest cost of a step. The output
projection is tied to the word embeddings and may be limited to `output_ids`, the tokens that
occur in training summaries (about half of the code tokenizer's; half the cost of the largest
matrix product of a training step): `output_logits` scores only those, `lm_logits` gives the
whole vocabulary with -inf elsewhere (for generation).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from codelm.core.model import CoreOutput

ARCH = "frozen-encoder-decoder"
KV = tuple[torch.Tensor, torch.Tensor]


@dataclass
class DecoderConfig:
    """Shape of the decoder and the names of what it depends on."""

    vocab_size: int = 16384
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    memory_size: int = 384  # width of the encoder's states
    max_target: int = 48  # target positions, <s> included
    dropout: float = 0.1
    pad_token_id: int = 1
    bos_token_id: int = 0
    eos_token_id: int = 2
    encoder: str = "minilm-code"  # the frozen encoder (codelm.checkpoint.resolve_model_dir name)
    max_source: int = 96  # encoder tokens read per function
    output_size: int = 0  # tokens the decoder may write (0: the whole vocabulary); see `output_ids`

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields plus the architecture's name."""
        return {"architecture": ARCH, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DecoderConfig":
        """Inverse of `to_dict`; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _heads(x: torch.Tensor, n: int) -> torch.Tensor:
    b, t, h = x.shape
    return x.view(b, t, n, h // n).transpose(1, 2)


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, n, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, n * d)


class DecoderBlock(nn.Module):
    """x += self_attn(norm(x)); x += cross_attn(norm(x), memory); x += ffn(norm(x))."""

    def __init__(self, c: DecoderConfig) -> None:
        super().__init__()
        h, self.heads, self.p = c.hidden_size, c.num_heads, c.dropout
        self.self_norm, self.qkv, self.self_out = nn.LayerNorm(h), nn.Linear(h, 3 * h), nn.Linear(h, h)
        self.cross_norm, self.q, self.cross_out = nn.LayerNorm(h), nn.Linear(h, h), nn.Linear(h, h)
        self.ffn_norm, self.ffn_in, self.ffn_out = (nn.LayerNorm(h), nn.Linear(h, c.intermediate_size),
                                                    nn.Linear(c.intermediate_size, h))
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, memory: KV, memory_mask: torch.Tensor | None,
                past: KV | None) -> tuple[torch.Tensor, KV]:
        p = self.p if self.training else 0.0
        q, k, v = (_heads(t, self.heads) for t in self.qkv(self.self_norm(x)).chunk(3, dim=-1))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        causal = past is None  # with a cache, the new tokens are the last ones (and one token alone is causal)
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=causal)
        x = x + self.drop(self.self_out(_merge(a)))
        q = _heads(self.q(self.cross_norm(x)), self.heads)
        a = F.scaled_dot_product_attention(q, *memory, attn_mask=memory_mask, dropout_p=p)
        x = x + self.drop(self.cross_out(_merge(a)))
        x = x + self.drop(self.ffn_out(F.gelu(self.ffn_in(self.ffn_norm(x)))))
        return x, (k, v)


class DocstringDecoder(nn.Module):
    """Word + position embeddings, `num_layers` decoder blocks, final norm, tied output."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        c = self.config = config
        self.memory_in = nn.Sequential(nn.LayerNorm(c.memory_size), nn.Linear(c.memory_size, 2 * c.hidden_size))
        self.word = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position = nn.Embedding(c.max_target, c.hidden_size)
        self.blocks = nn.ModuleList(DecoderBlock(c) for _ in range(c.num_layers))
        self.norm = nn.LayerNorm(c.hidden_size)
        self.drop = nn.Dropout(c.dropout)
        self.register_buffer("output_ids", torch.arange(c.output_size or c.vocab_size))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def memory(self, states: torch.Tensor) -> list[KV]:
        """Per-block cross-attention keys/values of encoder states (batch, source, memory_size):
        one projection shared by every block (see the module docstring)."""
        k, v = self.memory_in(states).chunk(2, dim=-1)
        kv = (_heads(k, self.config.num_heads), _heads(v, self.config.num_heads))
        return [kv] * len(self.blocks)

    def forward(self, input_ids: torch.Tensor, memory: list[KV], memory_mask: torch.Tensor | None = None,
                past_key_values: list[KV] | None = None) -> CoreOutput:
        """Hidden states of target tokens (batch, length); memory_mask (batch, source) is True
        at real source positions."""
        past = past_key_values[0][0].shape[2] if past_key_values else 0
        positions = torch.arange(past, past + input_ids.shape[1], device=input_ids.device)
        x = self.drop(self.word(input_ids) + self.position(positions)[None])
        mask = None if memory_mask is None else memory_mask[:, None, None, :].bool()
        cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, memory[i], mask, past_key_values[i] if past_key_values else None)
            cache.append(kv)
        return CoreOutput(self.norm(x), cache)

    def output_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Logits over `output_ids` only (tied to the word embeddings)."""
        return F.linear(h, self.word.weight[self.output_ids])

    def output_positions(self, labels: torch.Tensor, ignore: int = -100) -> torch.Tensor:
        """Token ids -> their column in `output_logits`; `ignore` for tokens outside the output set."""
        lookup = torch.full((self.config.vocab_size,), ignore, dtype=torch.long, device=labels.device)
        lookup[self.output_ids] = torch.arange(len(self.output_ids), device=labels.device)
        return lookup[labels]

    def lm_logits(self, h: torch.Tensor) -> torch.Tensor:
        """Logits over the whole vocabulary, -inf outside `output_ids`."""
        full = h.new_full((*h.shape[:-1], self.config.vocab_size), float("-inf"))
        full[..., self.output_ids] = self.output_logits(h)
        return full

    def save_pretrained(self, out: str | Path, half: bool = False) -> Path:
        """Write config.json and model.safetensors (fp16 with `half`, for shipping)."""
        from safetensors.torch import save_file

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        dtype = torch.float16 if half else torch.float32
        state = {k: v.detach().to("cpu", dtype if v.is_floating_point() else v.dtype).contiguous()
                 for k, v in self.state_dict().items()}
        save_file(state, str(out / "model.safetensors.tmp"), metadata={"format": "pt"})
        (out / "model.safetensors.tmp").replace(out / "model.safetensors")
        (out / "config.json").write_text(json.dumps(self.config.to_dict(), indent=1))
        return out

    def load_weights(self, directory: str | Path) -> None:
        """Load the weights of a directory written by `save_pretrained` (fp16 or fp32)."""
        from safetensors.torch import load_file

        own = self.state_dict()
        state = load_file(str(Path(directory) / "model.safetensors"))
        self.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})


def is_frozen_model(directory: str | Path) -> bool:
    """Whether a model directory holds this architecture."""
    path = Path(directory) / "config.json"
    return path.is_file() and json.loads(path.read_text()).get("architecture") == ARCH


def load_decoder(directory: str | Path) -> DocstringDecoder:
    """The decoder of a model directory, fp32, in eval mode."""
    config = DecoderConfig.from_dict(json.loads((Path(directory) / "config.json").read_text()))
    model = DocstringDecoder(config)
    model.load_weights(directory)
    return model.eval()


class Bound:
    """A decoder with its memory, called like the core (`codelm.generate` decodes with it).
    Rows of the input are beams: row r belongs to prompt r // (rows / prompts). `bias`
    (prompts, vocabulary), if given, is added to each prompt's next-token logits."""

    def __init__(self, decoder: DocstringDecoder, states: torch.Tensor, states_mask: torch.Tensor,
                 bias: torch.Tensor | None = None) -> None:
        self.decoder, self.config, self.training = decoder, decoder.config, False
        self.states, self.states_mask, self.bias = states, states_mask, bias
        self._memory: tuple[int, list[KV], torch.Tensor] | None = None

    def eval(self) -> "Bound":
        self.decoder.eval()
        return self

    def train(self, mode: bool = True) -> "Bound":
        self.decoder.train(mode)
        return self

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, mode: str = "decoder",
                 prefix_lengths: Any = None, past_key_values: list[KV] | None = None,
                 use_cache: bool = False) -> CoreOutput:
        rows = input_ids.shape[0]
        if self._memory is None or self._memory[0] != rows:
            repeat = rows // self.states.shape[0]
            memory = self.decoder.memory(self.states.repeat_interleave(repeat, 0))
            self._memory = (rows, memory, self.states_mask.repeat_interleave(repeat, 0))
        out = self.decoder(input_ids, self._memory[1], self._memory[2], past_key_values)
        return CoreOutput(out.last_hidden_state, out.past_key_values if use_cache else None)

    def lm_logits(self, h: torch.Tensor) -> torch.Tensor:
        logits = self.decoder.lm_logits(h)
        if self.bias is None:
            return logits
        bias = self.bias.repeat_interleave(h.shape[0] // self.bias.shape[0], 0)
        return logits + (bias if h.dim() == 2 else bias[:, None])


def export_half(model_dir: str | Path, out: str | Path) -> Path:
    """Write the decoder of a trained model directory to `out` in float16 (config.json +
    model.safetensors) with its memory of training functions: the form shipped in
    codelm/data/docstring; the encoder is not copied."""
    import shutil

    from codelm.tasks.docstring.memory import SIGNATURES, SUMMARIES

    out = load_decoder(model_dir).save_pretrained(out, half=True)
    for name in (SIGNATURES, SUMMARIES):
        if (Path(model_dir) / name).is_file():
            shutil.copy(Path(model_dir) / name, out / name)
    return out
