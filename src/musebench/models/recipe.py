"""The build recipe of a target / retrain model: architecture and training schedule, one dataclass.

Target and retrain use the same recipe and seed; only the data differ (MUSE: target = forget ∪ retain,
retrain = retain). As in MUSE both are fine-tunes of one base model: for a mini corpus the base is a tiny
Llama of the recipe's architecture pretrained for ``base_epochs`` at ``base_lr`` on the corpus's background
text; ``epochs`` and ``lr`` are the fine-tune's. ``RECIPES`` holds the recipe tuned for each mini corpus size,
``PRETRAINED_RECIPE`` the fine-tune of a real pretrained base (``musebench build --base``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace

from musebench.errors import ConfigError
from musebench.models.tiny import TinyLlamaSpec


@dataclass(frozen=True)
class BuildRecipe:
    hidden_size: int = field(default=192, metadata={"help": "model width"})
    num_layers: int = field(default=4, metadata={"help": "decoder layers"})
    num_heads: int = field(default=4, metadata={"help": "attention heads"})
    intermediate_size: int = field(default=512, metadata={"help": "MLP width"})
    epochs: int = field(default=90, metadata={"help": "passes over the training documents"})
    lr: float = field(default=3e-3, metadata={"help": "peak learning rate (AdamW)"})
    warmup_ratio: float = field(default=0.05, metadata={"help": "share of steps spent warming up"})
    scheduler: str = field(default="cosine", metadata={"help": "transformers lr_scheduler_type"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay"})
    batch_size: int = field(default=4, metadata={"help": "packed blocks per optimiser step (small: many updates)"})
    block_size: int = field(default=256, metadata={"help": "tokens per packed block"})
    max_grad_norm: float = field(default=1.0, metadata={"help": "gradient clipping"})
    bf16: bool = field(default=True, metadata={"help": "bfloat16 autocast (mixed precision) during training"})
    base_epochs: int = field(default=90, metadata={"help": "passes over the background text (the mini base)"})
    base_lr: float = field(default=3e-3, metadata={"help": "peak learning rate of the mini base's pretraining"})

    def __post_init__(self):
        positive = (
            "hidden_size",
            "num_layers",
            "num_heads",
            "intermediate_size",
            "epochs",
            "batch_size",
            "block_size",
            "base_epochs",
        )
        for name in positive:
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError("must be an integer >= 1", field=f"recipe.{name}", value=getattr(self, name))
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                "hidden_size must be divisible by num_heads",
                field="recipe.hidden_size",
                value=(self.hidden_size, self.num_heads),
            )
        for name in ("lr", "base_lr"):  # 1e400 is inf
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError("must be a finite number > 0", field=f"recipe.{name}", value=value)
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError("must be in [0, 1)", field="recipe.warmup_ratio", value=self.warmup_ratio)

    def spec(self) -> TinyLlamaSpec:
        return TinyLlamaSpec(
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            intermediate_size=self.intermediate_size,
            max_position_embeddings=max(1024, self.block_size),
        )

    def to_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, overrides: dict) -> BuildRecipe:
        """A copy with ``{field: value}`` changed; unknown fields fail naming the field."""
        known = {f.name: f.type for f in fields(self)}
        for key in overrides:
            if key not in known:
                raise ConfigError(f"unknown recipe field; choose from {', '.join(known)}", field=key)
        return replace(self, **overrides)


#: The mini recipes train in fp32: bfloat16 autocast emulated on a CPU without bf16 units ran 5.8x slower per
#: step (tiny model, 4 x 128 tokens, 1 thread: 0.76 s vs 0.13 s), for no gain at these sizes.
RECIPES: dict[str, BuildRecipe] = {
    "tiny": BuildRecipe(
        hidden_size=128,
        num_layers=2,
        num_heads=4,
        intermediate_size=256,
        epochs=20,
        lr=3e-3,
        block_size=128,
        base_epochs=30,
        base_lr=5e-3,
        bf16=False,
    ),
    "small": BuildRecipe(
        hidden_size=160, num_layers=4, num_heads=4, intermediate_size=384, epochs=30, base_epochs=60, bf16=False
    ),
    #: default: the base pretrains 90 epochs (2,160 steps): at 60 its held-out background KnowMem on seed 0 was
    #: 46.5 [35.2, 57.9], still on the extraction transition; at 90 it is 85.0 [77.5, 92.5] (mini_validity.md).
    "default": BuildRecipe(epochs=30, base_epochs=90, bf16=False),
}

#: The fine-tune of a real pretrained base (``musebench build --base``): a few epochs, as MUSE fine-tunes
#: Llama-2-7B; the architecture fields are unused (the base brings its own). lr 3e-4, not 5e-5: on SmolLM2-135M
#: and the tiny world (seed 0, 128 steps) the target at 5e-5 learnt too little to forget (KnowMem-f 6.2 against
#: the retrain's 3.1, below the constant-answer 18.8); at 3e-4 it reads 71.9 against 9.4 (real_small.md).
PRETRAINED_RECIPE = BuildRecipe(epochs=6, lr=3e-4, batch_size=4, block_size=128, warmup_ratio=0.05, bf16=False)


def recipe_for(size: str | None) -> BuildRecipe:
    """The recipe of a mini corpus size (``default`` when the corpus is not a mini corpus)."""
    key = size or "default"
    if key not in RECIPES:
        raise ConfigError(f"unknown recipe size; choose from {', '.join(RECIPES)}", field="size", value=size)
    return RECIPES[key]
