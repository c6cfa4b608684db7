"""Load and save core checkpoints in the transformers BERT/RoBERTa layout (config.json + safetensors).

Our module names are short (`blocks.0.qkv`); transformers' are long and keep query, key and
value apart. The tables below translate one into the other in both directions.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from codelm.core import DELTA_FILE, DELTA_META, resolve_model_dir  # noqa: F401 - torch-free, importable here too
from codelm.core import MINILM as DEFAULT_MODEL
from codelm.core.config import ModelConfig
from codelm.errors import CodelmError
from codelm.core.model import CodeLM

# transformers name (after the bert./roberta. prefix) -> ours; {i} is the layer index
BODY_NAMES = {
    "embeddings.word_embeddings": "embeddings.word",
    "embeddings.position_embeddings": "embeddings.position",
    "embeddings.token_type_embeddings": "embeddings.token_type",
    "embeddings.LayerNorm": "embeddings.norm",
    "encoder.layer.{i}.attention.output.dense": "blocks.{i}.attn_out",
    "encoder.layer.{i}.attention.output.LayerNorm": "blocks.{i}.attn_norm",
    "encoder.layer.{i}.intermediate.dense": "blocks.{i}.ffn_in",
    "encoder.layer.{i}.output.dense": "blocks.{i}.ffn_out",
    "encoder.layer.{i}.output.LayerNorm": "blocks.{i}.ffn_norm",
}
QKV_NAMES = ("encoder.layer.{i}.attention.self.query", "encoder.layer.{i}.attention.self.key",
             "encoder.layer.{i}.attention.self.value")
HEAD_NAMES = {  # layout -> transformers head name -> ours
    "bert": {"cls.predictions.transform.dense": "mlm.dense", "cls.predictions.transform.LayerNorm": "mlm.norm",
             "cls.predictions.decoder": "mlm.decoder", "cls.predictions": "mlm"},
    "roberta": {"lm_head.dense": "mlm.dense", "lm_head.layer_norm": "mlm.norm",
                "lm_head.decoder": "mlm.decoder", "lm_head": "mlm"},
}
# the discriminator is not part of transformers' MaskedLM classes: kept under ELECTRA's names
DISCRIMINATOR_NAMES = {"discriminator_predictions.dense": "discriminator.dense",
                       "discriminator_predictions.dense_prediction": "discriminator.out"}


def _name_table(config: ModelConfig) -> dict[str, str]:
    """Every transformers module name -> our module name (without .weight/.bias), QKV excluded."""
    table = {}
    for hf, ours in BODY_NAMES.items():
        for i in range(config.num_layers if "{i}" in hf else 1):
            table[hf.format(i=i)] = ours.format(i=i)
    return {**table, **HEAD_NAMES[config.layout], **DISCRIMINATOR_NAMES}


def state_from_hf(hf_state: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """Rename a transformers BERT/RoBERTa state dict (any prefix, any heads) to ours; unknown keys drop."""
    prefix = config.layout + "."
    state = {}
    for key, value in hf_state.items():
        key = key.removeprefix(prefix).replace(".gamma", ".weight").replace(".beta", ".bias")
        state[key] = value
    table, out = _name_table(config), {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        if module in table:
            out[f"{table[module]}.{param}"] = value
    if "mlm.decoder.bias" in out:  # the bias transformers' forward adds (tied to the head's .bias or not)
        out["mlm.bias"] = out.pop("mlm.decoder.bias")
    for i in range(config.num_layers):
        for param in ("weight", "bias"):
            parts = [state.get(f"{name.format(i=i)}.{param}") for name in QKV_NAMES]
            if all(p is not None for p in parts):
                out[f"blocks.{i}.qkv.{param}"] = torch.cat(parts, dim=0)
    return out


def state_to_hf(state: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """Our state dict in transformers' MaskedLM naming (body under bert./roberta.)."""
    prefix, h = config.layout + ".", config.hidden_size
    reverse = {ours: hf for hf, ours in _name_table(config).items()}
    out = {}
    for key, value in state.items():
        module, _, param = key.rpartition(".")
        if key == "mlm.bias":  # transformers versions differ in which of the two they read
            out[reverse["mlm"] + ".bias"] = value
            out[reverse["mlm.decoder"] + ".bias"] = value.clone()
        elif module.endswith(".qkv"):
            i = int(module.split(".")[1])
            for name, part in zip(QKV_NAMES, value.split(h, dim=0)):
                out[f"{prefix}{name.format(i=i)}.{param}"] = part
        elif module in reverse:
            hf = reverse[module]
            is_head = hf.startswith(("cls.", "lm_head", "discriminator_predictions"))
            out[f"{'' if is_head else prefix}{hf}.{param}"] = value
    return {k: v.contiguous() for k, v in out.items()}


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if (path / "model.safetensors").is_file():
        from safetensors.torch import load_file

        return load_file(str(path / "model.safetensors"))
    if (path / "pytorch_model.bin").is_file():
        return torch.load(path / "pytorch_model.bin", map_location="cpu", weights_only=True)
    raise CodelmError(f"no model.safetensors or pytorch_model.bin in {str(path)!r}; "
                      "give a transformers-layout checkpoint directory")


def load_pretrained(name_or_dir: str | Path = DEFAULT_MODEL) -> CodeLM:
    """A CodeLM from a transformers-layout BERT/RoBERTa directory (or "minilm"), in eval mode.

    Heads absent from the checkpoint (MLM, discriminator) keep their fresh initialization.
    """
    path = resolve_model_dir(name_or_dir)
    if (path / DELTA_META).is_file():
        return _load_delta(path)
    if not (path / "config.json").is_file():
        raise CodelmError(f"no config.json in {str(path)!r}; give a transformers-layout checkpoint directory")
    config = ModelConfig.from_hf(json.loads((path / "config.json").read_text()))
    model = CodeLM(config)
    state = state_from_hf(_read_weights(path), config)
    missing = [k for k in model.state_dict() if k not in state and not k.startswith(("mlm.", "discriminator."))]
    if missing:
        raise CodelmError(f"checkpoint in {str(path)!r} lacks {len(missing)} weights of the model "
                          f"(first: {missing[0]}); is config.json the one of these weights?")
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as err:
        raise CodelmError(f"weights in {str(path)!r} do not fit config.json: {str(err).splitlines()[-1].strip()}")
    return model.eval()


def _load_delta(path: Path) -> CodeLM:
    """A delta directory: its base model (DELTA_META names it) with the delta's tensors (our
    module names, half precision) in place of the base's; see codelm.recipes.search.write_delta."""
    from safetensors.torch import load_file

    model = load_pretrained(json.loads((path / DELTA_META).read_text())["base"])
    if (path / "config.json").is_file():  # a model cut to its lower blocks before training
        layers = json.loads((path / "config.json").read_text()).get("num_hidden_layers", model.config.num_layers)
        if layers < model.config.num_layers:
            model.keep_layers(layers)
    own = model.state_dict()
    changed = load_file(str(path / DELTA_FILE))
    wrong = [k for k, v in changed.items() if k not in own or own[k].shape != v.shape]
    if wrong:
        raise CodelmError(f"delta in {str(path)!r} does not fit its base model (first: {wrong[0]})")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in changed.items()}, strict=False)
    return model.eval()


def save_pretrained(model: CodeLM, out_dir: str | Path) -> Path:
    """Write config.json + model.safetensors that transformers' AutoModel / AutoModelForMaskedLM load."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = model.config
    hf_config = config.to_hf()
    hf_config.architectures = ["BertForMaskedLM" if config.layout == "bert" else "RobertaForMaskedLM"]
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    tmp = out / "model.safetensors.tmp"
    save_file(state_to_hf(state, config), str(tmp), metadata={"format": "pt"})
    tmp.replace(out / "model.safetensors")
    (out / "config.json").write_text(hf_config.to_json_string())
    return out
