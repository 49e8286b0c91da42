"""A tiny causal language model and its tokenizer, built and trained locally.

Everything here works with any Hugging Face causal LM (``AutoModelForCausalLM``-compatible:
``model(input_ids=..., attention_mask=...).logits``) and its fast tokenizer; the tests and the
CPU claims use a GPT-2-architecture model made from a small config (2–4 blocks, width 64–128)
and a word-level tokenizer built from the fact texts with the ``tokenizers`` library. Nothing
is downloaded: :func:`load_lm` reads a local directory only.

QA pairs are encoded as ``<bos> question <a> answer <eos>``; the loss and every answer
likelihood cover the answer tokens and ``<eos>`` only (``labels`` = -100 on the prompt and
on padding), as TOFU's evaluation does.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>", "<a>")
PAD, UNK, BOS, EOS, SEP = SPECIALS


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' info messages and progress bars (they would end up in logs)."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()


def build_tokenizer(texts: Sequence[str]):
    """A word-level ``PreTrainedTokenizerFast`` whose vocabulary is every whitespace-separated
    word of ``texts`` (sorted, after the special tokens ``<pad> <unk> <bos> <eos> <a>``)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if isinstance(texts, str) or len(texts) == 0:
        raise ValueError("texts must be a non-empty sequence of strings, got "
                         f"{'a single string' if isinstance(texts, str) else 'an empty one'}")
    words = sorted({w for t in texts for w in str(t).split()} - set(SPECIALS))
    vocab = {w: i for i, w in enumerate((*SPECIALS, *words))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    with _quiet_transformers():
        return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, unk_token=UNK,
                                       bos_token=BOS, eos_token=EOS,
                                       additional_special_tokens=[SEP])


def tiny_gpt2(tokenizer, *, n_layer: int = 2, n_embd: int = 128, n_head: int = 4,
              n_positions: int = 64, seed: int = 0, device=None):
    """A GPT-2-architecture ``GPT2LMHeadModel`` from a small config (tied embeddings, no
    dropout), initialised from ``torch.Generator``-independent global seeding of ``seed``
    (Hugging Face initialises with the global RNG; it is saved and restored around the call).
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    for name, v in (("n_layer", n_layer), ("n_embd", n_embd), ("n_head", n_head),
                    ("n_positions", n_positions)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if n_embd % n_head:
        raise ValueError(f"n_embd must be divisible by n_head, got n_embd={n_embd}, "
                         f"n_head={n_head}")
    cfg = GPT2Config(vocab_size=len(tokenizer), n_positions=n_positions, n_embd=n_embd,
                     n_layer=n_layer, n_head=n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                     attn_pdrop=0.0, bos_token_id=tokenizer.bos_token_id,
                     eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                     tie_word_embeddings=True)
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(int(seed))
        with _quiet_transformers():
            model = GPT2LMHeadModel(cfg)
    finally:
        torch.random.set_rng_state(state)
    return model.to(device if device is not None else "cpu").eval()


def check_compatible(model, tokenizer) -> None:
    """Raise ``ValueError`` when the tokenizer can emit ids the model has no embedding for."""
    n_emb = model.get_input_embeddings().weight.shape[0]
    if len(tokenizer) > n_emb:
        raise ValueError(f"tokenizer vocabulary ({len(tokenizer)} tokens) does not fit the "
                         f"model's embedding table ({n_emb} rows): tokenizer and model must "
                         "come from the same checkpoint")


def _max_positions(model) -> int | None:
    cfg = model.config
    return getattr(cfg, "n_positions", None) or getattr(cfg, "max_position_embeddings", None)


def encode_qa(tokenizer, questions: Sequence[str], answers: Sequence[str], *,
              model=None, device=None) -> dict[str, torch.Tensor]:
    """Right-padded batch of ``<bos> q <a> a <eos>`` with ``labels`` on the answer and
    ``<eos>`` only. With ``model``, checks the vocabulary and the context length."""
    if len(questions) != len(answers):
        raise ValueError(f"questions and answers must have the same length, got "
                         f"{len(questions)} and {len(answers)}")
    if len(questions) == 0:
        raise ValueError("questions must hold at least one QA pair, got an empty sequence")
    # one batched tokenizer call per side (the fast tokenizer encodes in Rust)
    P = tokenizer([f"{BOS} {q} {SEP}" for q in questions], add_special_tokens=False)["input_ids"]
    T = tokenizer([f"{a} {EOS}" for a in answers], add_special_tokens=False)["input_ids"]
    ids = [p + t for p, t in zip(P, T, strict=True)]
    labels = [[-100] * len(p) + t for p, t in zip(P, T, strict=True)]
    L = max(map(len, ids))
    if model is not None:
        check_compatible(model, tokenizer)
        n_pos = _max_positions(model)
        if n_pos is not None and L > n_pos:
            raise ValueError(f"sequence length must be <= the model's context "
                             f"(n_positions={n_pos}), got {L} tokens")
    # many public checkpoints (GPT-2 among them) define no pad token; padded positions are
    # masked out and unlabelled, so any valid id serves
    pad = next((t for t in (tokenizer.pad_token_id, tokenizer.eos_token_id) if t is not None), 0)
    input_ids = torch.full((len(ids), L), pad, dtype=torch.long)
    lab = torch.full((len(ids), L), -100, dtype=torch.long)
    mask = torch.zeros((len(ids), L), dtype=torch.long)
    for i, (s, lb) in enumerate(zip(ids, labels, strict=True)):
        input_ids[i, :len(s)] = torch.tensor(s)
        lab[i, :len(s)] = torch.tensor(lb)
        mask[i, :len(s)] = 1
    out = {"input_ids": input_ids, "attention_mask": mask, "labels": lab}
    return {k: v.to(device) for k, v in out.items()} if device is not None else out


def token_logprobs(model, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position log-probabilities of the labelled tokens, ``(n, L-1)``, and their mask."""
    logits = model(input_ids=batch["input_ids"],
                   attention_mask=batch["attention_mask"]).logits[:, :-1]
    target = batch["labels"][:, 1:]
    mask = target != -100
    lp = torch.log_softmax(logits.float(), dim=-1).gather(
        -1, target.clamp_min(0).unsqueeze(-1)).squeeze(-1)
    return lp * mask, mask


def sequence_logprob(model, batch: dict[str, torch.Tensor], *,
                     reduction: str = "sum") -> torch.Tensor:
    """log π(answer | question) per sequence: ``"sum"`` over answer tokens, or ``"mean"``
    (length-normalised, as TOFU's truth ratio uses). Differentiable."""
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    lp, mask = token_logprobs(model, batch)
    s = lp.sum(-1)
    return s if reduction == "sum" else s / mask.sum(-1).clamp_min(1)


def qa_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean per-token negative log-likelihood of the answers (the fine-tuning loss)."""
    lp, mask = token_logprobs(model, batch)
    return -lp.sum() / mask.sum().clamp_min(1)


def _select(batch: dict[str, torch.Tensor], idx: torch.Tensor) -> dict[str, torch.Tensor]:
    return {k: v[idx] for k, v in batch.items()}


def train_lm(model, batch: dict[str, torch.Tensor], *, epochs: int = 100, lr: float = 3e-3,
             batch_size: int = 32, weight_decay: float = 0.0, generator: torch.Generator,
             progress: bool = False):
    """Fine-tune (or train from scratch) on the answers of ``batch`` with AdamW, minibatches
    drawn by ``generator`` each epoch. Returns the model in eval mode."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    for name, v in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not (lr > 0 and np.isfinite(lr)):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    n = batch["input_ids"].shape[0]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    it = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="train_lm", leave=False)
    for _ in it:
        perm = torch.randperm(n, generator=generator).to(batch["input_ids"].device)
        for s in range(0, n, batch_size):
            loss = qa_loss(model, _select(batch, perm[s:s + batch_size]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


def _check_greedy(model, tokenizer, questions, max_new_tokens) -> None:
    if len(questions) == 0:
        raise ValueError("questions must hold at least one question, got an empty sequence")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int | np.integer):
        raise TypeError(f"max_new_tokens must be an integer, got {max_new_tokens!r}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    check_compatible(model, tokenizer)


def _cache_argument(model) -> str:
    """The name under which the model's ``forward`` takes (and its output returns) the
    cached keys and values: ``cache`` in recent transformers releases, ``past_key_values``
    in earlier ones (transformers 4.x and 5.x up to at least 5.17)."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _greedy(model, tokenizer, questions, max_new_tokens, device, *, cached: bool) -> list[str]:
    dev = device if device is not None else next(model.parameters()).device
    prompts = tokenizer([f"{BOS} {q} {SEP}" for q in questions],
                        add_special_tokens=False)["input_ids"]
    n_pos = _max_positions(model)
    out: list[str | None] = [None] * len(prompts)
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_len.setdefault(len(p), []).append(i)
    eos = tokenizer.eos_token_id
    was_training = model.training
    model.eval()
    for L, idx in by_len.items():
        if n_pos is not None and L >= n_pos:
            raise ValueError(f"question length must be < the model's context "
                             f"(n_positions={n_pos}), got {L} tokens")
        x = torch.tensor([prompts[i] for i in idx], device=dev)
        done = torch.zeros(len(idx), dtype=torch.bool, device=dev)
        gen: list[torch.Tensor] = []
        steps = max_new_tokens if n_pos is None else min(max_new_tokens, n_pos - L)
        inp, cache = x, None
        cache_arg = _cache_argument(model) if cached else None
        for _ in range(steps):
            if cached:  # feed only the new token; keys and values of the prefix are cached
                o = model(input_ids=inp, **{cache_arg: cache}, use_cache=True)
                cache = getattr(o, cache_arg)
                nxt = o.logits[:, -1].argmax(-1)
            else:
                nxt = model(input_ids=x).logits[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, eos), nxt)
            gen.append(nxt)
            done |= nxt == eos
            x = torch.cat([x, nxt[:, None]], dim=1)
            inp = nxt[:, None]
            if bool(done.all()):
                break
        G = torch.stack(gen, 1).tolist() if gen else [[] for _ in idx]
        for j, i in enumerate(idx):
            toks = G[j]
            toks = toks[:toks.index(eos)] if eos in toks else toks
            out[i] = tokenizer.decode(toks, skip_special_tokens=True).strip()
    model.train(was_training)
    return [s if s is not None else "" for s in out]


@torch.no_grad()
def greedy_answers(model, tokenizer, questions: Sequence[str], *, max_new_tokens: int = 16,
                   device=None) -> list[str]:
    """Greedy continuation of ``<bos> q <a>`` up to ``<eos>`` (batched, left-aligned prompts
    of equal length are grouped; no sampling, so the result is deterministic). Each step
    feeds only the new token and reuses the cached keys and values of the prefix."""
    _check_greedy(model, tokenizer, questions, max_new_tokens)
    return _greedy(model, tokenizer, questions, max_new_tokens, device, cached=True)


@torch.no_grad()
def _reference_greedy_answers(model, tokenizer, questions: Sequence[str], *,
                              max_new_tokens: int = 16, device=None) -> list[str]:
    """:func:`greedy_answers` with the whole sequence recomputed at every step (slow twin,
    used by the tests)."""
    _check_greedy(model, tokenizer, questions, max_new_tokens)
    return _greedy(model, tokenizer, questions, max_new_tokens, device, cached=False)


def save_lm(model, tokenizer, path: str | os.PathLike) -> Path:
    """Save model and tokenizer with ``save_pretrained`` into ``path`` (created)."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    with _quiet_transformers():
        model.save_pretrained(p)
        tokenizer.save_pretrained(p)
    return p


def load_lm(path: str | os.PathLike, *, device=None) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from a local directory (never downloads).

    Any ``AutoModelForCausalLM`` checkpoint works (a GPT-2 saved by :func:`save_lm`, or a
    public 100M-class model copied to disk for GPU runs)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(path)
    if not (p / "config.json").is_file():
        raise FileNotFoundError(f"path must be a local model directory with a config.json "
                                f"(save one with save_lm), got {str(p)!r}")
    with _quiet_transformers():
        model = AutoModelForCausalLM.from_pretrained(p, local_files_only=True)
        tok = AutoTokenizer.from_pretrained(p, local_files_only=True)
    check_compatible(model, tok)
    return model.to(device if device is not None else "cpu").eval(), tok
