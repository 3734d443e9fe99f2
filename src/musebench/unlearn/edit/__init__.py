"""Fine-tune-then-edit methods: Task Vector and WHP edit a model fine-tuned on the forget set (``finetune.py``,
shared between them); ULD trains a small assistant and subtracts its logits. Their checkpoints are one per
edit strength α (``EditConfig.alphas``), not one per epoch."""
