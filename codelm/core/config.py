"""ModelConfig: the one description of a core model, convertible to/from transformers configs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from codelm.errors import CodelmError

LAYOUTS = ("bert", "roberta")
ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu")

# name -> (num_layers, hidden_size, num_heads, intermediate_size)
PRESETS = {
    "tiny": (2, 64, 2, 256),
    "small": (6, 384, 6, 1536),  # MiniLM-L6-sized
    "base": (12, 768, 12, 3072),  # BERT/RoBERTa-base-sized
}


@dataclass
class ModelConfig:
    """Shape and conventions of a post-norm BERT/RoBERTa-style transformer.

    `layout` picks the position convention: "bert" numbers positions 0, 1, 2, ...;
    "roberta" starts at pad_token_id + 1 and gives pad tokens the pad position,
    as transformers does.
    """

    vocab_size: int = 50265
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 514
    type_vocab_size: int = 1
    layer_norm_eps: float = 1e-5
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    hidden_act: str = "gelu"
    layout: str = "roberta"
    pad_token_id: int = 1
    bos_token_id: int = 0
    eos_token_id: int = 2
    tie_word_embeddings: bool = True
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise CodelmError(f"unknown layout {self.layout!r}; use one of {', '.join(LAYOUTS)}")
        if self.hidden_act not in ACTIVATIONS:
            raise CodelmError(f"unsupported activation {self.hidden_act!r}; use one of {', '.join(ACTIVATIONS)}")
        if self.hidden_size % self.num_heads:
            raise CodelmError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_heads

    @property
    def max_length(self) -> int:
        """Longest sequence the position table allows (RoBERTa spends pad_token_id + 1 slots)."""
        offset = self.pad_token_id + 1 if self.layout == "roberta" else 0
        return self.max_position_embeddings - offset

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "ModelConfig":
        """A named size ("tiny", "small", "base"), with any field overridden by keyword."""
        if name not in PRESETS:
            raise CodelmError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
        layers, hidden, heads, inter = PRESETS[name]
        base = dict(num_layers=layers, hidden_size=hidden, num_heads=heads, intermediate_size=inter)
        return cls(**{**base, **overrides})

    def replace(self, **changes: Any) -> "ModelConfig":
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of all fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Inverse of `to_dict`; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @classmethod
    def from_hf(cls, cfg: Any) -> "ModelConfig":
        """From a transformers `BertConfig`/`RobertaConfig` (or its config.json dict)."""
        d = cfg if isinstance(cfg, dict) else cfg.to_dict()
        model_type = d.get("model_type")
        layout = {"bert": "bert", "roberta": "roberta", "xlm-roberta": "roberta"}.get(model_type)
        if layout is None:
            raise CodelmError(f"unsupported model_type {model_type!r}; codelm loads BERT and RoBERTa checkpoints")
        if d.get("position_embedding_type", "absolute") != "absolute":
            raise CodelmError(f"unsupported position_embedding_type {d['position_embedding_type']!r}; only 'absolute'")
        return cls(
            vocab_size=d["vocab_size"], hidden_size=d["hidden_size"], num_layers=d["num_hidden_layers"],
            num_heads=d["num_attention_heads"], intermediate_size=d["intermediate_size"],
            max_position_embeddings=d.get("max_position_embeddings", 512),
            type_vocab_size=d.get("type_vocab_size", 2), layer_norm_eps=d.get("layer_norm_eps", 1e-12),
            hidden_dropout=d.get("hidden_dropout_prob", 0.1),
            attention_dropout=d.get("attention_probs_dropout_prob", 0.1),
            hidden_act=d.get("hidden_act", "gelu"), layout=layout,
            pad_token_id=d.get("pad_token_id") if d.get("pad_token_id") is not None else 0,
            bos_token_id=d.get("bos_token_id") if d.get("bos_token_id") is not None else 0,
            eos_token_id=d.get("eos_token_id") if d.get("eos_token_id") is not None else 2,
            tie_word_embeddings=d.get("tie_word_embeddings", True),
            initializer_range=d.get("initializer_range", 0.02),
        )

    def to_hf(self) -> Any:
        """The equivalent transformers `BertConfig` or `RobertaConfig`."""
        from transformers import BertConfig, RobertaConfig

        hf_cls = BertConfig if self.layout == "bert" else RobertaConfig
        return hf_cls(
            vocab_size=self.vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads, intermediate_size=self.intermediate_size,
            max_position_embeddings=self.max_position_embeddings, type_vocab_size=self.type_vocab_size,
            layer_norm_eps=self.layer_norm_eps, hidden_dropout_prob=self.hidden_dropout,
            attention_probs_dropout_prob=self.attention_dropout, hidden_act=self.hidden_act,
            pad_token_id=self.pad_token_id, bos_token_id=self.bos_token_id, eos_token_id=self.eos_token_id,
            tie_word_embeddings=self.tie_word_embeddings, initializer_range=self.initializer_range,
            position_embedding_type="absolute",
        )
