"""A Label Studio ML backend serving our tagger, so "Connect model" pre-labels tasks interactively.

It speaks the ML backend protocol of `label-studio-ml` (GET /health, POST /setup, /predict, /webhook)
with the standard library's HTTP server instead of that package: its PyPI release (1.0.9) pins
Flask 1.1.2, Werkzeug 2.0.2, Jinja2 3.0.3 and itsdangerous 2.0.1, which would downgrade packages
that torch and transformers use, and its maintained version is only installable from GitHub. The
protocol is small — JSON in, JSON out — so four routes here are the whole of it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from govtargets.data import TEXT_KEY, AnnotationError, check_spans, spans_to_results, trim_span
from govtargets.documents import DocumentError, document_from_text
from govtargets.labelstudio import label_config_problem, model_version
from govtargets.pipeline import tag_document
from govtargets.records import Backend, Span

logger = logging.getLogger(__name__)

DEFAULT_PORT = 9090
# Requests larger than this are refused: a /predict batch of paragraphs is far smaller.
MAX_BODY = 50 * 1024 * 1024


def predict_spans(text: str, backend: Backend) -> list[Span]:
    """The backend's spans on a task text, offsets into that text exactly as Label Studio shows it.

    The text goes through the same cleaning and sentence splitting as a report file; clean offsets map
    back to the task text through the document's offset map. A span with a deleted character inside
    cannot be shown faithfully and is left out.
    """
    try:
        doc = document_from_text(text, "<task>")
    except DocumentError:
        return []
    spans: list[Span] = []
    for sentence, tagged in tag_document(doc, backend):
        for span in tagged:
            start, end = sentence.start + span.start, sentence.start + span.end
            source_start, source_end = doc.to_source(start, end)
            if text[source_start:source_end] != doc.text[start:end]:
                continue
            trimmed = trim_span(text, Span(span.label, source_start, source_end,
                                           text[source_start:source_end], span.score))
            if trimmed is not None:
                spans.append(trimmed)
    return check_spans(text, spans, "prediction")


@dataclass
class Predictor:
    """Tasks → Label Studio predictions. One lock: model backends are not safe to call concurrently."""

    backend: Backend

    def __post_init__(self) -> None:
        self.version = model_version(self.backend)
        self._lock = threading.Lock()

    def predict(self, task: dict[str, Any]) -> dict[str, Any]:
        text = task.get("data", {}).get(TEXT_KEY)
        if not isinstance(text, str):
            raise AnnotationError(f"task {task.get('id')}: no {TEXT_KEY!r} string in its data")
        with self._lock:
            spans = predict_spans(text, self.backend)
        prediction: dict[str, Any] = {
            "model_version": self.version,
            "result": spans_to_results(text, spans, (), f"task {task.get('id')}", with_scores=True),
        }
        if spans:
            prediction["score"] = round(min(span.score for span in spans), 4)
        return prediction


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def _send(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error": "request too large"})
            return None
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except ValueError as err:
            self._send(400, {"error": f"body is not JSON: {err}"})
            return None
        if not isinstance(payload, dict):
            self._send(400, {"error": "body must be a JSON object"})
            return None
        return payload

    def _config_error(self, config: Any) -> bool:
        """Answer 400 when Label Studio sends a label config that is not ours."""
        if isinstance(config, str) and config.strip():
            problem = label_config_problem(config)
            if problem:
                self._send(400, {"error": f"not the govtargets label config: {problem}"})
                return True
        return False

    def do_GET(self) -> None:
        predictor = self.server.predictor
        if self.path.split("?")[0] in ("/", "/health"):
            self._send(200, {"status": "UP", "model_class": f"govtargets/{predictor.backend.name}",
                             "model_version": predictor.version})
        elif self.path.split("?")[0] == "/metrics":
            self._send(200, {})
        else:
            self._send(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        route = self.path.split("?")[0]
        payload = self._json_body()
        if payload is None:
            return
        predictor = self.server.predictor
        if route == "/setup":
            if not self._config_error(payload.get("schema")):
                self._send(200, {"model_version": predictor.version})
        elif route == "/predict":
            if self._config_error(payload.get("label_config")):
                return
            tasks = payload.get("tasks")
            if not isinstance(tasks, list):
                self._send(400, {"error": "'tasks' must be a list"})
                return
            try:
                results = [predictor.predict(task) for task in tasks]
            except AnnotationError as err:
                self._send(400, {"error": str(err)})
                return
            except Exception as err:
                # The server boundary: Label Studio should see what broke, not a dropped connection.
                logger.exception("prediction failed")
                self._send(500, {"error": f"{type(err).__name__}: {err}"})
                return
            self._send(200, {"results": results})
        elif route == "/webhook":
            # Training happens offline from pulled annotation files; annotation events change nothing here.
            self._send(200, {"status": "ignored"})
        else:
            self._send(404, {"error": f"no route {self.path}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], predictor: Predictor) -> None:
        super().__init__(address, _Handler)
        self.predictor = predictor


def make_server(backend: Backend, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """An ML backend server (not yet serving: call `serve_forever()`); port 0 picks a free port."""
    return _Server((host, port), Predictor(backend))
