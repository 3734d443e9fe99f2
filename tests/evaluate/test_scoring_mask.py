"""Scoring right-padded rows with an all-ones mask gives the log-probs of masking the pads."""

from __future__ import annotations

import numpy as np
import torch

from musebench.evaluate.model_io import ModelCaller
from musebench.evaluate.scoring import right_pad, score_texts


def test_all_ones_mask_equals_padding_mask_on_real_tokens(memorised_lm, tiny_corpus):
    model, tok = memorised_lm.model, memorised_lm.tokenizer
    texts = tiny_corpus.privleak_forget[:3] + [t.lower() for t in tiny_corpus.privleak_holdout[:3]]
    rows = [list(ids)[:48] for ids in tok(texts)["input_ids"]]
    assert len({len(r) for r in rows}) > 1  # the batch really is padded
    got = score_texts(ModelCaller(model), rows, tok.pad_token_id)
    ids, mask = right_pad(rows, tok.pad_token_id, "cpu")
    with torch.inference_mode():
        logits = model(
            input_ids=ids, attention_mask=mask, position_ids=torch.arange(ids.shape[1]).expand_as(ids)
        ).logits
    logp = torch.log_softmax(logits.float(), -1)[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1)
    for i, r in enumerate(rows):
        np.testing.assert_allclose(got[i].logprobs, logp[i, : len(r) - 1].numpy(), atol=1e-6, rtol=0)
