"""The fast ConvBERT attention computes what transformers' ConvBERT computes, and is only used then."""

from typing import Any

import pytest
import torch
from transformers import BertConfig, BertForTokenClassification, ConvBertConfig, ConvBertForTokenClassification

from govtargets import convbert
from govtargets.convbert import use_fast_attention


def tiny_convbert(seed: int = 0) -> ConvBertForTokenClassification:
    torch.manual_seed(seed)
    config = ConvBertConfig(vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=128, max_position_embeddings=64, num_labels=9, embedding_size=64)
    return ConvBertForTokenClassification(config).eval()


def logits(model: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(input_ids=input_ids, attention_mask=mask).logits


def test_fast_attention_gives_each_sentence_its_logits_alone_on_padded_batches_of_any_length() -> None:
    original, fast = tiny_convbert(), tiny_convbert()
    assert use_fast_attention(fast)
    generator = torch.Generator().manual_seed(1)
    for batch, length in ((1, 2), (3, 9), (4, 37), (2, 64)):
        input_ids = torch.randint(1, 300, (batch, length), generator=generator)
        mask = torch.ones_like(input_ids)
        mask[-1, max(1, length // 2) :] = 0  # a padded row
        got = logits(fast, input_ids, mask)
        for row in range(batch):
            size = int(mask[row].sum())
            alone = logits(original, input_ids[row : row + 1, :size], mask[row : row + 1, :size])[0]
            torch.testing.assert_close(got[row, :size], alone, atol=1e-5, rtol=0)


def test_padding_does_not_change_a_sentence() -> None:
    # transformers' own ConvBERT convolutions read the padding after a short sentence: its logits change
    # with the length of the batch. The fast form does not.
    original, fast = tiny_convbert(), tiny_convbert()
    assert use_fast_attention(fast)
    sentence = torch.randint(1, 300, (1, 12), generator=torch.Generator().manual_seed(2))
    results = {}
    for name, model in (("original", original), ("fast", fast)):
        outputs = []
        for padding in (0, 3, 30):
            ids = torch.cat([sentence, torch.zeros(1, padding, dtype=torch.long)], 1)
            mask = torch.cat([torch.ones(1, 12, dtype=torch.long), torch.zeros(1, padding, dtype=torch.long)], 1)
            outputs.append(logits(model, ids, mask)[0, :12])
        results[name] = max(float((o - outputs[0]).abs().max()) for o in outputs)
    assert results["fast"] < 1e-5
    assert results["original"] > 1e-3  # what the fast form fixes is real


def test_other_models_and_training_mode_are_left_alone() -> None:
    bert = BertForTokenClassification(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=64)).eval()
    assert not use_fast_attention(bert)
    training = tiny_convbert().train()
    assert not use_fast_attention(training)
    assert all("forward" not in vars(module) for module in training.modules())


def test_a_form_that_disagrees_is_never_used(monkeypatch: pytest.MonkeyPatch) -> None:
    original = convbert.convbert_attention

    def off_by_a_little(self: Any, hidden_states: torch.Tensor, *args: Any,
                        **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        context, probs = original(self, hidden_states, *args, **kwargs)
        return context + 1e-2, probs

    monkeypatch.setattr(convbert, "convbert_attention", off_by_a_little)
    model = tiny_convbert()
    assert not use_fast_attention(model)
    assert all("forward" not in vars(module) for module in model.modules())
