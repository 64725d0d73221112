"""MiniLM sentence and token features for Rasa, run through ONNX Runtime.

The engine runs on Python 3.10 without torch, so the packaged all-MiniLM-L6-v2 encoder
is exported once at setup (``bot/nlu/export.py``, ``make setup``) to ``models/minilm``:
``model.onnx`` (BERT encoder, outputs per-wordpiece hidden states), ``tokenizer.json``
and ``manifest.json``. This component does the rest in numpy:

- sentence features: masked mean of the hidden states, L2-normalised, exactly what
  sentence-transformers' ``encode(normalize_embeddings=True)`` returns (``pooling:
  max`` is offered for experiments);
- sequence features: one row per Rasa token (from the pipeline's tokenizer): the mean
  of the hidden states of the wordpieces whose character spans overlap the token;
  tokens past the 256-wordpiece truncation get zeros, as LanguageModelFeaturizer does.

With ``fine_tune_epochs: 0`` the packaged encoder is used as it is, read from
``model_dir`` relative to the working directory: it is large, and identical for every
model trained from the same setup, so it is not packed into the trained model. With
``fine_tune_epochs`` above 0, training first fine-tunes the encoder on the intent
examples (``encoder_tuning.py``, in ``.venv`` where torch is), checks the new export
against torch's vectors, and packs it into the trained model: each model then carries
the encoder its classifier was trained on.

Imports: rasa, onnxruntime, tokenizers, numpy and the standard library only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException, RasaException
from rasa.shared.nlu.constants import ACTION_TEXT, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.engine.encoder_tuning import (
    DEFAULT_TRAINER_PYTHON,
    EncoderTuningError,
    TuningRequest,
    fine_tune_encoder,
)

logger = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
REFERENCE_FILE = "reference.json"  # written by bot/nlu/finetune.py beside the export
# Written into the trained model either way, so loading always finds the resource.
STATE_FILE = "encoder.json"
# How far ONNX Runtime's vectors may be from torch's for a tuned export to be accepted.
TOLERANCE = 1e-4
# What a tuned export depends on besides the config and the training data.
TUNING_CODE = (
    Path(__file__).resolve().parents[1] / "nlu" / "finetune.py",
    Path(__file__).resolve().parents[1] / "nlu" / "nonsense.py",
    Path(__file__).resolve().with_name("encoder_tuning.py"),
)
POOLINGS = ("mean", "max")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class MiniLMFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense features from the packaged MiniLM sentence encoder (ONNX)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        """Sequence features are aligned to the tokens of the pipeline's tokenizer."""
        return [Tokenizer]

    @staticmethod
    def required_packages() -> List[Text]:
        """Lets Rasa name the missing package instead of failing on import."""
        return ["onnxruntime", "tokenizers"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """The defaults reproduce sentence-transformers' vectors for the model."""
        return {
            **DenseFeaturizer.get_default_config(),
            # Exported model folder, relative to the working directory (the project root).
            "model_dir": "models/minilm",
            # Messages per ONNX run; training data is sorted by length first.
            "batch_size": 64,
            # Sentence vector: "mean" (the model's own pooling) or "max".
            "pooling": "mean",
            # L2-normalise the sentence vector, as the model's Normalize module does.
            "normalize": True,
            # ONNX Runtime intra-op threads; 0 lets it use every core. One per request
            # keeps a busy engine from oversubscribing the CPU.
            "intra_op_threads": 1,
            # Epochs of fine-tuning on the intent examples; 0 keeps the encoder frozen.
            "fine_tune_epochs": 0,
            "fine_tune_learning_rate": 1e-4,
            # Rate of each encoder layer relative to the one above; 1 for no decay.
            "fine_tune_layer_decay": 1.0,
            "fine_tune_batch_size": 32,
            # Wordpieces per training sentence (inference still reads up to 256).
            "fine_tune_max_length": 64,
            "fine_tune_random_seed": 42,
            # An intent whose examples tuning should teach, like made-up nonsense, to
            # favour no intent; "" for none (the default: docs/architecture.md).
            "fine_tune_outlier_intent": "",
            # The interpreter with torch; default: the project's .venv.
            "trainer_python": None,
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Fails at training time, not on the first message, on a bad setting."""
        if config.get("pooling") not in POOLINGS:
            raise InvalidConfigException(
                f"MiniLMFeaturizer: 'pooling' must be one of {POOLINGS}, "
                f"got {config.get('pooling')!r}."
            )
        if int(config.get("batch_size", 0)) < 1:
            raise InvalidConfigException("MiniLMFeaturizer: 'batch_size' must be >= 1.")
        if int(config.get("intra_op_threads", 0)) < 0:
            raise InvalidConfigException("MiniLMFeaturizer: 'intra_op_threads' must be >= 0.")
        if int(config.get("fine_tune_epochs", 0)) < 0:
            raise InvalidConfigException("MiniLMFeaturizer: 'fine_tune_epochs' must be >= 0.")
        for key in ("fine_tune_batch_size", "fine_tune_max_length"):
            if int(config.get(key, 1)) < 1:
                raise InvalidConfigException(f"MiniLMFeaturizer: '{key}' must be >= 1.")
        if not float(config.get("fine_tune_learning_rate", 1e-4)) > 0:
            raise InvalidConfigException("MiniLMFeaturizer: 'fine_tune_learning_rate' must be > 0.")
        if not 0 < float(config.get("fine_tune_layer_decay", 1.0)) <= 1:
            raise InvalidConfigException(
                "MiniLMFeaturizer: 'fine_tune_layer_decay' must be above 0 and at most 1."
            )

    def __init__(
        self,
        config: Dict[Text, Any],
        name: Text,
        model_storage: Optional[ModelStorage] = None,
        resource: Optional[Resource] = None,
        tuned_files: Optional[Dict[Text, bytes]] = None,
    ) -> None:
        """Checks the exported files exist; the ONNX session itself comes lazily.

        ``tuned_files`` (model, tokenizer and manifest of a fine-tuned export, read from
        the trained model) take the place of the packaged export in ``model_dir``.
        """
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._tuned_files = tuned_files
        self._model_dir = Path(config["model_dir"]).expanduser().resolve()
        missing = [f for f in (MODEL_FILE, TOKENIZER_FILE) if not (self._model_dir / f).is_file()]
        if missing and tuned_files is None:
            raise InvalidConfigException(
                f"MiniLMFeaturizer: {', '.join(missing)} not found in {self._model_dir}. "
                f"The ONNX export of the sentence encoder is made at setup: run "
                f"`make setup` (or `make models/minilm/model.onnx`) in the project root."
            )
        self._session: Any = None
        self._tokenizer: Any = None
        self._input_names: Tuple[str, ...] = ()
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MiniLMFeaturizer:
        """Creates the component with the packaged encoder, before any fine-tuning."""
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MiniLMFeaturizer:
        """Loads the tuned encoder packed in the model, or the packaged one if none is."""
        tuned: Optional[Dict[Text, bytes]] = None
        try:
            with model_storage.read_from(resource) as folder:
                state = json.loads((folder / STATE_FILE).read_text())
                if state.get("fine_tuned"):
                    names = (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE)
                    tuned = {name: (folder / name).read_bytes() for name in names}
        except FileNotFoundError as error:
            # The packaged encoder would not be the one the classifier learned on.
            raise RasaException(
                f"MiniLMFeaturizer: the trained model lacks its tuned encoder ({error}); "
                f"train the model again."
            ) from error
        except ValueError as error:
            # Models trained before the encoder was trainable have no resource.
            logger.debug("MiniLMFeaturizer: no trained encoder state (%s).", error)
        return cls(config, execution_context.node_name, model_storage, resource, tuned)

    def train(self, training_data: TrainingData) -> Resource:
        """Fine-tunes the encoder on the intent examples when the config asks for it."""
        epochs = int(self._config["fine_tune_epochs"])
        examples = [
            (str(m.get(TEXT)), str(m.get(INTENT)))
            for m in training_data.intent_examples
            if m.get(TEXT) and m.get(INTENT)
        ]
        tuned = epochs > 0 and len({intent for _, intent in examples}) >= 2
        if epochs > 0 and not tuned:
            logger.warning("MiniLMFeaturizer: fewer than two intents, encoder left frozen.")
        if self._model_storage is None or self._resource is None:
            raise RasaException("MiniLMFeaturizer: train() needs the model storage.")
        with self._model_storage.write_to(self._resource) as folder:
            if tuned:
                self._fine_tune(examples, folder)
            (folder / STATE_FILE).write_text(json.dumps({"fine_tuned": tuned}))
        return self._resource

    def _fine_tune(self, examples: List[Tuple[Text, Text]], folder: Path) -> None:
        """Runs the fine-tuning and accepts its export only if ONNX agrees with torch."""
        request = TuningRequest(
            epochs=int(self._config["fine_tune_epochs"]),
            learning_rate=float(self._config["fine_tune_learning_rate"]),
            layer_decay=float(self._config["fine_tune_layer_decay"]),
            batch_size=int(self._config["fine_tune_batch_size"]),
            max_length=int(self._config["fine_tune_max_length"]),
            seed=int(self._config["fine_tune_random_seed"]),
            outlier_intent=str(self._config["fine_tune_outlier_intent"] or ""),
        )
        python = self._config["trainer_python"]
        try:
            fine_tune_encoder(
                examples, folder, request, Path(python) if python else DEFAULT_TRAINER_PYTHON
            )
        except EncoderTuningError as error:
            raise RasaException(f"MiniLMFeaturizer: {error}") from error
        reference = json.loads((folder / REFERENCE_FILE).read_text())
        names = (MODEL_FILE, TOKENIZER_FILE, MANIFEST_FILE)
        checker = MiniLMFeaturizer(
            {**self._config, "normalize": True, "pooling": "mean"},
            self._identifier,
            tuned_files={name: (folder / name).read_bytes() for name in names},
        )
        got = checker.sentence_vectors(reference["sentences"])
        gap = float(np.abs(got - np.asarray(reference["vectors"], dtype=np.float32)).max())
        if gap > TOLERANCE:
            raise RasaException(
                f"MiniLMFeaturizer: the tuned encoder's ONNX vectors differ from torch's "
                f"by {gap:.2e} (more than {TOLERANCE:g}); the export is not used."
            )
        logger.info("MiniLMFeaturizer: tuned export matches torch to %.1e.", gap)

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """A new export, or new tuning code, must invalidate Rasa's training cache."""
        model_dir = Path(config.get("model_dir", "models/minilm")).expanduser()
        try:
            print_ = str(json.loads((model_dir / MANIFEST_FILE).read_text())["sha256"])
        except (OSError, ValueError, KeyError):
            model = model_dir / MODEL_FILE
            print_ = f"{model.stat().st_size}:{model.stat().st_mtime_ns}" if model.exists() else ""
        if int(config.get("fine_tune_epochs", 0)) > 0:
            for code in TUNING_CODE:
                print_ += ":" + hashlib.sha256(code.read_bytes()).hexdigest()[:16]
        return print_ or None

    def _ensure_session(self) -> None:
        """Builds the ONNX session and tokenizer once, on first use."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer as HFTokenizer

            if self._tuned_files is not None:
                tokenizer = HFTokenizer.from_str(self._tuned_files[TOKENIZER_FILE].decode())
                manifest_text: Optional[bytes] = self._tuned_files[MANIFEST_FILE]
                model: Any = self._tuned_files[MODEL_FILE]
            else:
                tokenizer = HFTokenizer.from_file(str(self._model_dir / TOKENIZER_FILE))
                manifest_path = self._model_dir / MANIFEST_FILE
                manifest_text = manifest_path.read_bytes() if manifest_path.is_file() else None
                model = str(self._model_dir / MODEL_FILE)
            if manifest_text is not None and tokenizer.truncation is None:
                max_len = json.loads(manifest_text)["max_seq_length"]
                tokenizer.enable_truncation(max_length=int(max_len))
            if tokenizer.padding is None:
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106
            options = ort.SessionOptions()
            options.intra_op_num_threads = int(self._config["intra_op_threads"])
            options.inter_op_num_threads = 1
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(
                model,
                sess_options=options,
                providers=["CPUExecutionProvider"],
            )
            self._input_names = tuple(i.name for i in session.get_inputs())
            self._tokenizer = tokenizer
            self._session = session
            self._tuned_files = None  # the session holds its own copy of the model

    def _run(self, texts: List[Text]) -> Tuple[np.ndarray, List[Any], np.ndarray]:
        """(hidden states, tokenizer encodings, sentence vectors) for a batch of texts."""
        self._ensure_session()
        encodings = self._tokenizer.encode_batch(texts)
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        feed = {k: v for k, v in feed.items() if k in self._input_names}
        hidden = self._session.run(None, feed)[0]
        mask = feed["attention_mask"].astype(np.float32)[:, :, None]
        if self._config["pooling"] == "mean":
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        else:
            pooled = np.where(mask > 0, hidden, -np.inf).max(axis=1)
        if self._config["normalize"]:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.clip(norms, 1e-12, None)
        return hidden, encodings, pooled.astype(np.float32)

    def sentence_vectors(self, texts: List[Text]) -> np.ndarray:
        """Sentence vectors [n, dim], one text at a time: no padding in the comparison."""
        return np.concatenate([self._run([text])[2] for text in texts])

    def _encode(
        self, texts: List[Text], tokens: List[List[Token]]
    ) -> List[Tuple[np.ndarray, np.ndarray]]:
        """(sequence [n_tokens, dim], sentence [1, dim]) features for each text."""
        hidden, encodings, pooled = self._run(texts)
        return [
            (self._align(hidden[i], encodings[i], tokens[i]), pooled[i : i + 1])
            for i in range(len(texts))
        ]

    @staticmethod
    def _align(hidden: np.ndarray, encoding: Any, tokens: List[Token]) -> np.ndarray:
        """Mean hidden state of the wordpieces that overlap each Rasa token's span."""
        out = np.zeros((len(tokens), hidden.shape[-1]), dtype=np.float32)
        pieces = [
            (start, end, j)
            for j, ((start, end), special) in enumerate(
                zip(encoding.offsets, encoding.special_tokens_mask, strict=True)
            )
            if not special and end > start
        ]
        for row, token in enumerate(tokens):
            rows = [j for start, end, j in pieces if start < token.end and end > token.start]
            if rows:
                out[row] = hidden[rows].mean(axis=0)
        return out

    def _featurize(self, messages: List[Message], attribute: Text) -> None:
        """Featurizes, in batches, the messages that have text and tokens for it."""
        todo = [m for m in messages if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
        # Similar lengths in a batch waste less work on padding.
        todo.sort(key=lambda m: len(m.get(attribute)))
        size = int(self._config["batch_size"])
        for start in range(0, len(todo), size):
            batch = todo[start : start + size]
            features = self._encode(
                [m.get(attribute) for m in batch],
                [m.get(TOKENS_NAMES[attribute]) for m in batch],
            )
            for message, (sequence, sentence) in zip(batch, features, strict=True):
                self.add_features_to_message(sequence, sentence, attribute, message)

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurizes user text (and action text for end-to-end stories) at inference."""
        for attribute in (TEXT, ACTION_TEXT):
            self._featurize(messages, attribute)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurizes every dense-featurizable attribute of the training examples."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            self._featurize(training_data.training_examples, attribute)
        return training_data
