"""The text criteria as tasks (``task.Task``): VerbMem (C1) and KnowMem (C2, C4); PrivLeak is ``privacy``.

VerbMem (C1): continue each forget-text prompt; reference = ``gt`` tokenized with BOS, cut to the first
``verbmem_gt_max_tokens`` ids (BOS counts), decoded without special tokens.
KnowMem (C2 on forget, C4 on retain): a few-shot prompt, the answer cut by MUSE's rule; the number of shots
really used is recorded, and fewer than asked (a missing or short ``*_icl`` file) is a warning, never a silent
zero-shot score.
PrivLeak (C3): texts are scored whole, as MUSE does; a length limit, if the user sets one, is recorded with
the number of texts it cut.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

from musebench.criteria import CRITERIA, SCORES, criterion_of
from musebench.data import MissingDataWarning, QAPair, VerbMemRecord
from musebench.data.layout import LAYOUT
from musebench.evaluate.bootstrap import bootstrap_ci
from musebench.evaluate.metrics import (
    knowmem_cut,
    mean_x100,
    reported_mean_x100,
    rouge_l_f1,
    rows_mean_x100,
)
from musebench.evaluate.requests import GenerateRequest, Generation
from musebench.evaluate.settings import KNOWMEM_CUTS, EvalSettings
from musebench.evaluate.task import EvalContext, Task


def knowmem_prompt(question: str, shots: list[QAPair], ending: str = "faithful") -> str:
    """``"Question: {q}\\nAnswer: {a}\\n\\n"`` per shot, then ``"Question: {question}\\nAnswer: "`` (``ending``
    ``"no_trailing_space"``: without the final space; ``settings.KNOWMEM_PROMPTS``)."""
    context = "".join(f"Question: {s.question}\nAnswer: {s.answer}\n\n" for s in shots)
    prompt = context + f"Question: {question}\nAnswer: "
    return prompt[:-1] if ending == "no_trailing_space" else prompt


def trailing_space_is_lone_token(tokenizer) -> bool:
    """Does this tokenizer encode the faithful prompt's final space as a token of its own (``" "`` after
    ``":"``)? Then a model that saw answers only as ``": Paris"`` / ``" Paris"`` is asked to continue after a
    token it rarely met there, and KnowMem can read 0 whatever it knows (``knowmem_prompt``)."""
    probe = "Question: Where was Ada born?\nAnswer:"
    with_space = tokenizer(probe + " ", add_special_tokens=False)["input_ids"]
    without = tokenizer(probe, add_special_tokens=False)["input_ids"]
    return (
        len(with_space) == len(without) + 1 and with_space[:-1] == without and tokenizer.decode(with_space[-1:]) == " "
    )


def select_shots(icl: list[QAPair], num_shots: int | None) -> list[QAPair]:
    return list(icl) if num_shots is None else list(icl[:num_shots])


#: What a KnowMem criterion measures, for warnings that name what a short few-shot file weakens.
KNOWMEM_TITLES = {
    "knowmem_f": f"C2 {CRITERIA['C2'].measured_by}, and the checkpoint selection judged by it",
    "knowmem_r": f"C4 utility ({CRITERIA['C4'].measured_by})",
}
#: The corpus part holding each KnowMem criterion's few-shot examples.
ICL_PARTS = {"knowmem_f": "knowmem_forget_qa_icl", "knowmem_r": "knowmem_retain_qa_icl"}


def knowmem_shots(criterion: str, icl: list[QAPair], settings: EvalSettings, source: str = "") -> dict:
    """The shots a KnowMem criterion gets, for the provenance; warns when fewer than asked are available.

    ``knowmem_num_shots=None`` asks for every example of the ``*_icl`` file, so only a missing or empty file
    is short then.
    """
    requested = settings.knowmem_num_shots
    used = len(select_shots(icl, requested))
    file = LAYOUT[ICL_PARTS[criterion]]
    record = {"used": used, "requested": requested, "available": len(icl), "file": file}
    if used == 0 and requested != 0 or requested is not None and used < requested:
        where = f"{source.rstrip('/')}/{file}" if source else file
        state = "missing or empty" if not icl else f"holds {len(icl)} example(s)"
        wanted = "every example" if requested is None else f"{requested} shots"
        warnings.warn(
            f"{where}: {state}; {criterion} asks for {wanted}, so it is scored {used}-shot: this "
            f"weakens {KNOWMEM_TITLES[criterion]} (not comparable with {wanted})",
            MissingDataWarning,
            stacklevel=3,
        )
        record["warning"] = f"{where}: {state}, scored {used}-shot"
    return record


def privleak_length_limit(tokenizer, texts: list[str], max_length: int | None, lowercase_twins: bool = False) -> dict:
    """Provenance of the PrivLeak length rule: the limit (None = whole texts) and how many texts it cut.

    With ``lowercase_twins`` the lower-cased copies (scored for the NLL / NLL(lower) attack) are counted too:
    they often tokenize longer than the text itself.
    """
    if max_length is None:
        return {"max_length": None, "texts_cut": 0, "texts": len(texts)}

    def lengths(batch):
        return [len(ids) for ids in tokenizer(list(batch), add_special_tokens=True)["input_ids"]] if batch else []

    own = lengths(texts)
    rule = {
        "max_length": max_length,
        "texts_cut": sum(n > max_length for n in own),
        "texts": len(texts),
        "longest_tokens": max(own, default=0),
    }
    if lowercase_twins:
        rule["lowercase_twins_cut"] = sum(n > max_length for n in lengths([t.lower() for t in texts]))
    return rule


def verbmem_reference(tokenizer, gt: str, max_tokens: int) -> str:
    ids = tokenizer(gt, add_special_tokens=True)["input_ids"][:max_tokens]
    return decode_ids(tokenizer, ids)


def verbmem_requests(records: list[VerbMemRecord], settings: EvalSettings) -> list[GenerateRequest]:
    return [GenerateRequest(r.prompt, settings.verbmem_max_new_tokens) for r in records]


def knowmem_requests(qa: list[QAPair], icl: list[QAPair], settings: EvalSettings) -> list[GenerateRequest]:
    shots = select_shots(icl, settings.knowmem_num_shots)
    return [
        GenerateRequest(
            knowmem_prompt(p.question, shots, settings.knowmem_prompt), settings.knowmem_max_new_tokens, KNOWMEM_CUTS
        )
        for p in qa
    ]


def decode_ids(tokenizer, ids) -> str:
    """The original scorer's decode (``clean_up_tokenization_spaces=True``): special tokens skipped, then
    " ," -> ",", " 's" -> "'s" and the like. transformers >= 5 ignores that flag for BPE tokenizers (Llama,
    GPT-2, ...), so the clean-up is applied explicitly with the tokenizer's own ``clean_up_tokenization``."""
    text = tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)
    return tokenizer.clean_up_tokenization(text)


def decode_generation(tokenizer, generation: Generation) -> str:
    return decode_ids(tokenizer, generation.token_ids)


def verbmem_rows(tokenizer, records, requests, outputs: dict[str, Generation], settings) -> list[dict]:
    rows = []
    for i, (rec, req) in enumerate(zip(records, requests)):
        output = decode_generation(tokenizer, outputs[req.key()])
        reference = verbmem_reference(tokenizer, rec.gt, settings.verbmem_gt_max_tokens)
        generation = outputs[req.key()]
        rows.append(
            {
                "criterion": "verbmem_f",
                "index": i,
                "input": rec.prompt,
                "reference": reference,
                "output": output,
                "output_tokens": len(generation.token_ids),
                "finish": generation.finish,
                "scores": {"rougeL_f1": rouge_l_f1(reference, output)},
            }
        )
    return rows


def knowmem_rows(criterion: str, tokenizer, qa, requests, outputs: dict[str, Generation]) -> list[dict]:
    rows = []
    for i, (pair, req) in enumerate(zip(qa, requests)):
        raw = decode_generation(tokenizer, outputs[req.key()])
        answer = knowmem_cut(raw)
        rows.append(
            {
                "criterion": criterion,
                "index": i,
                "input": pair.question,
                "reference": pair.answer,
                "output": answer,
                "raw_output": raw,
                "output_tokens": len(outputs[req.key()].token_ids),
                "finish": outputs[req.key()].finish,
                "scores": {"rougeL_f1": rouge_l_f1(pair.answer, answer)},
            }
        )
    return rows


class RougeTask(Task):
    """A criterion scored as the mean ROUGE-L F1 x 100 of its rows, with a bootstrap CI over them: over whole
    people when the corpus records whose each row is (questions about one person are not independent)."""

    part: str = ""  # the corpus part its rows come from, one row per record

    def prefetch(self) -> None:
        from musebench.evaluate import metrics

        metrics._rouge_l()  # rouge_score pulls in nltk: ~1 s of start-up

    def score(self, ctx: EvalContext, rows: list[dict]) -> None:
        values = [r["scores"]["rougeL_f1"] for r in rows]
        ctx.scores[self.name] = reported_mean_x100(values)
        units = ctx.corpus.unit_labels(self.part) if self.part else None
        ctx.ci[self.name] = bootstrap_ci(
            mean_x100, [(values,)], name=self.name, batched=rows_mean_x100, clusters=[units], **ctx.boot
        )


class VerbMem(RougeTask):
    """C1: continue each forget-text prompt; ROUGE-L against the true continuation."""

    name = "verbmem_f"
    description = SCORES["verbmem_f"].description
    needs = criterion_of("verbmem_f").needs
    scores = (SCORES["verbmem_f"],)
    aliases = ("verbmem",)
    part = "verbmem_forget"

    def requests(self, ctx: EvalContext) -> list[GenerateRequest]:
        return verbmem_requests(ctx.corpus.verbmem_forget, ctx.settings)

    def rows(self, ctx: EvalContext, requests, outputs) -> list[dict]:
        return verbmem_rows(ctx.tokenizer, ctx.corpus.verbmem_forget, requests, outputs, ctx.settings)


class KnowMem(RougeTask):
    """C2 (forget) / C4 (retain): answer each question after a few shots; ROUGE-L against the answer."""

    provenance: ClassVar[dict] = {"knowmem_shots": {}, "knowmem_prompt": None}

    def __init__(self, name: str, qa: str, aliases: tuple[str, ...] = ()):
        self.name, self.qa, self.icl, self.aliases = name, qa, ICL_PARTS[name], aliases
        self.part = qa
        self.description = SCORES[name].description
        self.needs = criterion_of(name).needs
        self.scores = (SCORES[name],)

    def prepare(self, ctx: EvalContext) -> None:
        shots = knowmem_shots(self.name, getattr(ctx.corpus, self.icl), ctx.settings, ctx.corpus.source)
        ctx.provenance.setdefault("knowmem_shots", {})[self.name] = shots
        if "warning" in shots:
            ctx.notes.append(f"KnowMem shots: {shots['warning']}")

    def requests(self, ctx: EvalContext) -> list[GenerateRequest]:
        if ctx.provenance.get("knowmem_prompt") is None:  # the prompt's ending, once for both criteria
            lone = trailing_space_is_lone_token(ctx.tokenizer)
            ctx.provenance["knowmem_prompt"] = {"setting": ctx.settings.knowmem_prompt, "lone_space_token": lone}
            if lone and ctx.settings.knowmem_prompt == "faithful":
                ctx.notes.append(
                    "KnowMem prompt: this tokenizer encodes the trailing space of 'Answer: ' as a lone token, "
                    "which a model rarely saw before an answer word; KnowMem may read near 0 whatever it knows. "
                    "knowmem_prompt=no_trailing_space scores without it (recorded; MUSE's own scorer keeps it)"
                )
        return knowmem_requests(getattr(ctx.corpus, self.qa), getattr(ctx.corpus, self.icl), ctx.settings)

    def rows(self, ctx: EvalContext, requests, outputs) -> list[dict]:
        return knowmem_rows(self.name, ctx.tokenizer, getattr(ctx.corpus, self.qa), requests, outputs)
