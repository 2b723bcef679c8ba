"""The Label Studio workflow against a real Label Studio server (see tests/ls_server.py) and the ML backend.

A reviewer's work is simulated through the API: accept a suggestion, correct a boundary, delete a
wrong span, add a missed one, link an INDICATOR to its VALUE, skip a task. `ls pull` must return
exactly what was submitted, character for character.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from govtargets.cli_ls import ls_app
from govtargets.data import read_annotations, results_to_spans, select_annotation
from govtargets.documents import read_file
from govtargets.labelstudio import (
    Client,
    Connection,
    LabelStudioError,
    document_id,
    document_tasks,
    free_port,
    model_version,
    port_in_use,
    read_label_config,
    select_export,
)
from govtargets.ml_backend import make_server, predict_spans
from govtargets.pipeline import get_backend, tag_document
from govtargets.records import Backend, Span

pytest_plugins = ("ls_server",)

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "data" / "seeds").glob("*.txt"))
# Emoji (astral), full-width digits and traditional characters: offsets must survive the server.
EMOJI_REPORT = (
    "2024年政府工作报告\n\n😀今年全市地区生产总值增長５.５％左右，𠀋𠀋新建𠀋廠項目開工建設。\n\n"
    "城镇新增就业２万人以上。\n"
)
FOREIGN_CONFIG = """<View><Labels name="label" toName="text"><Label value="PER"/><Label value="ORG"/></Labels>
<Text name="text" value="$text"/></View>"""

runner = CliRunner()


@pytest.fixture(scope="module")
def backend() -> Backend:
    return get_backend("rules")


@pytest.fixture(scope="module")
def client(label_studio: Any) -> Client:
    return Client(Connection(label_studio.url, label_studio.token))


def cli(label_studio: Any, *args: str, token: str | None = None) -> Any:
    return runner.invoke(ls_app, [*args, "--url", label_studio.url, "--token", token or label_studio.token])


def tasks_of(client: Client, project_id: int) -> list[Any]:
    return sorted(client.sdk.tasks.list(project=project_id), key=lambda t: t.id)


def as_tuples(spans: list[Span]) -> list[tuple[str, int, int, str]]:
    return [(s.label, s.start, s.end, s.text) for s in spans]


def region(rid: str, text: str, label: str, start: int, end: int) -> dict[str, Any]:
    return {"id": rid, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "text": text[start:end], "labels": [label]}}


def annotate(client: Client, task_id: int, result: list[dict[str, Any]], **flags: Any) -> None:
    client.sdk.annotations.create(task_id, result=result, **flags)


# --- push -------------------------------------------------------------------------------------------


def test_push_creates_project_with_predictions_and_is_idempotent(
    label_studio: Any, client: Client, backend: Backend
) -> None:
    title = "push seeds"
    first = cli(label_studio, "push", str(SEEDS[0]), str(SEEDS[3]), "--project", title, "--backend", "rules")
    assert first.exit_code == 0, first.output
    assert "created" in first.output

    project = client.checked_project(title)
    version = model_version(backend)
    expected: dict[str, dict[str, Any]] = {}
    for path in (SEEDS[0], SEEDS[3]):
        doc = read_file(path, display=document_id(path))[0]
        for task in document_tasks(doc, tag_document(doc, backend), "paragraph", version):
            expected[task["data"]["key"]] = task
    tasks = tasks_of(client, project.id)
    assert len(tasks) == len(expected) > 10
    assert client.sdk.projects.get(project.id).model_version == version

    with_spans = 0
    for task in tasks:
        want = expected[task.data["key"]]
        assert task.data == want["data"]
        doc_text = read_file(REPO / task.data["doc"])[0].text
        assert doc_text[task.data["offset"] : task.data["end"]] == task.data["text"]
        assert [p.model_version for p in task.predictions] == [version]
        result = task.predictions[0].result
        assert result == want["predictions"][0]["result"]
        for item in result:
            assert 0 < item["score"] <= 1
            assert task.data["text"][item["value"]["start"] : item["value"]["end"]] == item["value"]["text"]
        with_spans += bool(result)
    assert with_spans > 5

    # The same files spelled differently (relative, with a detour) are the same documents.
    detour = [os.path.relpath(path.parent / ".." / "seeds" / path.name) for path in (SEEDS[0], SEEDS[3])]
    again = cli(label_studio, "push", *detour, "--project", title, "--backend", "rules")
    assert again.exit_code == 0, again.output
    assert f"0 new tasks from 2 documents, {len(expected)} already there" in again.output
    assert len(tasks_of(client, project.id)) == len(expected)

    # One more document adds only its own paragraphs.
    more = cli(label_studio, "push", str(SEEDS[0]), str(SEEDS[1]), "--project", title, "--backend", "rules")
    assert more.exit_code == 0, more.output
    added = len(read_file(SEEDS[1])[0].paragraphs)
    assert len(tasks_of(client, project.id)) == len(expected) + added

    by_sentence = cli(label_studio, "push", str(SEEDS[4]), "--project", "push by sentence", "--unit", "sentence",
                      "--backend", "rules")
    assert by_sentence.exit_code == 0, by_sentence.output
    doc = read_file(SEEDS[4])[0]
    sentences = [(s.start, s.end) for s in doc.sentences if s.text.strip()]
    tasks = tasks_of(client, client.checked_project("push by sentence").id)
    assert len(tasks) == len(sentences)
    for task, (start, end) in zip(sorted(tasks, key=lambda t: t.data["offset"]), sentences, strict=True):
        assert start <= task.data["offset"] < task.data["end"] <= end
        assert doc.text[task.data["offset"] : task.data["end"]] == task.data["text"] == doc.text[start:end].strip()
        assert task.data["unit"] == "sentence"


# --- review, then pull ------------------------------------------------------------------------------


def test_review_and_pull_returns_exactly_what_was_submitted(
    label_studio: Any, client: Client, tmp_path: Path
) -> None:
    title = "review round trip"
    report = tmp_path / "emoji_report.txt"
    report.write_text(EMOJI_REPORT, encoding="utf-8")
    pushed = cli(label_studio, "push", str(SEEDS[2]), str(report), "--project", title, "--backend", "rules")
    assert pushed.exit_code == 0, pushed.output
    project = client.checked_project(title)
    tasks = tasks_of(client, project.id)

    def predicted(task: Any) -> list[Span]:
        return results_to_spans(task.data["text"], task.predictions[0].result, f"task {task.id}")[0]

    rich = [t for t in tasks if t.data["doc"] != document_id(report) and len(predicted(t)) >= 4
            and any(s.label == "INDICATOR" and len(s.text) >= 3 for s in predicted(t))
            and any(s.label == "VALUE" for s in predicted(t))]
    assert len(rich) >= 5
    accepted, edited, skipped, truth, latest = rich[:5]
    expected: dict[int, tuple[list[tuple[str, int, int, str]], list[tuple[int, int, str]]]] = {}

    # Accept the suggestion as it is.
    annotate(client, accepted.id, accepted.predictions[0].result)
    expected[accepted.id] = (as_tuples(predicted(accepted)), [])

    # Correct a boundary, delete a wrong span, add a missed one, link the indicator to its value.
    text = edited.data["text"]
    spans = predicted(edited)
    indicator = next(s for s in spans if s.label == "INDICATOR" and len(s.text) >= 3)
    start = indicator.start + 1
    corrected = Span("INDICATOR", start, indicator.end, text[start : indicator.end])
    value = next(s for s in spans if s.label == "VALUE" and s.start > indicator.start)
    deleted = next(s for s in reversed(spans) if s not in (indicator, value))
    kept = sorted([corrected if s == indicator else s for s in spans if s != deleted], key=lambda s: s.start)
    free = next(i for i in range(len(text) - 1)
                if not any(c.isspace() for c in text[i : i + 2])
                and all(i + 2 <= s.start or s.end <= i for s in kept))
    final = sorted([*kept, Span("PROJECT", free, free + 2, text[free : free + 2])], key=lambda s: s.start)
    result = [region(f"e{i}", text, s.label, s.start, s.end) for i, s in enumerate(final)]
    source, target = final.index(corrected), final.index(value)
    result.append({"from_id": f"e{source}", "to_id": f"e{target}", "type": "relation", "direction": "right",
                   "labels": ["has_value"]})
    annotate(client, edited.id, result)
    expected[edited.id] = (as_tuples(final), [(source, target, "has_value")])

    # A skipped task (Label Studio stores it as a cancelled annotation) is left out.
    annotate(client, skipped.id, [], was_cancelled=True)

    # Ground truth beats a later annotation; without one the latest annotation counts.
    truth_spans = predicted(truth)[1:]
    annotate(client, truth.id, [region(f"g{i}", truth.data["text"], s.label, s.start, s.end)
                                for i, s in enumerate(truth_spans)], ground_truth=True)
    annotate(client, truth.id, [])
    expected[truth.id] = (as_tuples(truth_spans), [])
    annotate(client, latest.id, latest.predictions[0].result)
    latest_spans = predicted(latest)[:2]
    annotate(client, latest.id, [region(f"l{i}", latest.data["text"], s.label, s.start, s.end)
                                 for i, s in enumerate(latest_spans)])
    expected[latest.id] = (as_tuples(latest_spans), [])

    # Spans after astral characters, on full-width and traditional text.
    emoji_task = next(t for t in tasks if t.data["doc"] == document_id(report) and "😀" in t.data["text"])
    emoji_text = emoji_task.data["text"]
    emoji_spans = [Span(label, emoji_text.index(piece), emoji_text.index(piece) + len(piece), piece)
                   for label, piece in [("INDICATOR", "地区生产总值"), ("VALUE", "５.５"), ("UNIT", "％"),
                                        ("PROJECT", "𠀋廠項目")]]
    annotate(client, emoji_task.id, [region(f"u{i}", emoji_text, s.label, s.start, s.end)
                                     for i, s in enumerate(emoji_spans)])
    expected[emoji_task.id] = (as_tuples(emoji_spans), [])

    output = tmp_path / "annotations" / "review.json"
    pulled = cli(label_studio, "pull", "--project", title, "-o", str(output))
    assert pulled.exit_code == 0, pulled.output
    assert f"{len(expected)} annotated tasks" in pulled.output

    exported = json.loads(output.read_text(encoding="utf-8"))
    assert sorted(task["id"] for task in exported) == sorted(expected)
    assert all(len(task["annotations"]) == 1 for task in exported)
    items = {item.task_id: item for item in read_annotations(output)}
    for task_id, (spans_want, relations_want) in expected.items():
        item = items[task_id]
        assert as_tuples(item.spans) == spans_want
        assert item.relations == relations_want
        for span in item.spans:
            assert item.text[span.start : span.end] == span.text
    assert as_tuples(items[emoji_task.id].spans)[0][1] == emoji_text.index("地区生产总值") == 5

    # The file is Label Studio's own format: it loads back into a project unchanged.
    reloaded, _ = client.ensure_project("review round trip, reloaded", read_label_config(), "gold")
    client.import_tasks(reloaded.id, exported)
    again = {task["data"]["key"]: select_annotation(task) for task in client.export(reloaded.id)}
    for task in exported:
        chosen = again[task["data"]["key"]]
        assert chosen is not None and chosen["result"] == task["annotations"][0]["result"]


def test_select_export_keeps_the_chosen_annotation_and_drops_prediction_ids() -> None:
    text = "地区生产总值增长5%"
    good = [region("a", text, "INDICATOR", 0, 6)]
    exported = [
        {"id": 1, "data": {"text": text}, "predictions": [3], "drafts": [],
         "annotations": [
             {"id": 10, "result": good, "updated_at": "2024-01-01T00:00:00Z"},
             {"id": 11, "result": [], "was_cancelled": True, "updated_at": "2024-02-01T00:00:00Z"},
         ]},
        {"id": 2, "data": {"text": text}, "annotations": [{"id": 12, "result": [], "was_cancelled": True}]},
    ]
    selection = select_export(exported)
    assert [task["id"] for task in selection.tasks] == [1]
    assert selection.tasks[0]["annotations"][0]["id"] == 10
    assert "predictions" not in selection.tasks[0] and "drafts" not in selection.tasks[0]
    assert (selection.without_annotation, selection.dropped_annotations) == (1, 1)


# --- bad input --------------------------------------------------------------------------------------


def test_unreachable_server_and_wrong_token_fail_cleanly(label_studio: Any, tmp_path: Path) -> None:
    output = tmp_path / "annotations" / "x.json"
    unreachable = runner.invoke(ls_app, ["pull", "--project", "p", "-o", str(output), "--url",
                                         f"http://127.0.0.1:{free_port()}", "--token", "whatever"])
    assert unreachable.exit_code == 1
    assert unreachable.output.startswith("error: cannot reach Label Studio at http://127.0.0.1:")
    assert unreachable.output.count("\n") == 1

    for command in (["pull", "--project", "p", "-o", str(output)], ["push", str(SEEDS[0]), "--project", "p"]):
        wrong = cli(label_studio, *command, token="not-the-token")
        assert wrong.exit_code == 1
        assert "rejected the API token (HTTP 401)" in wrong.output
        assert wrong.output.count("\n") == 1
    assert not output.parent.exists()

    with pytest.raises(LabelStudioError, match="rejected the API token"):
        Client(Connection(label_studio.url, "not-the-token"))


def test_foreign_project_config_and_missing_project_are_refused(
    label_studio: Any, client: Client, tmp_path: Path
) -> None:
    client.sdk.projects.create(title="someone else's NER", label_config=FOREIGN_CONFIG)
    output = tmp_path / "annotations" / "foreign.json"
    for command in (["pull", "--project", "someone else's NER", "-o", str(output)],
                    ["push", str(SEEDS[0]), "--project", "someone else's NER", "--backend", "rules"]):
        refused = cli(label_studio, *command)
        assert refused.exit_code == 1
        assert "does not use the govtargets label config: its labels are ORG, PER" in refused.output
    missing = cli(label_studio, "pull", "--project", "no such project", "-o", str(output))
    assert missing.exit_code == 1
    assert "no project titled 'no such project'" in missing.output
    assert not output.parent.exists()


def test_pull_refuses_a_bad_annotation_and_leaves_the_old_file(
    label_studio: Any, client: Client, tmp_path: Path
) -> None:
    project, _ = client.ensure_project("bad annotation", read_label_config(), "v")
    text = "地区生产总值增长5%"
    client.import_tasks(project.id, [{"data": {"text": text, "key": "bad"}}])
    task = tasks_of(client, project.id)[0]
    annotate(client, task.id, [region("a", text, "INDICATOR", 0, 6), region("b", text, "VALUE", 4, 9)])
    output = tmp_path / "annotations" / "bad.json"
    output.parent.mkdir()
    output.write_text("[]\n", encoding="utf-8")
    refused = cli(label_studio, "pull", "--project", "bad annotation", "-o", str(output))
    assert refused.exit_code == 1
    assert f"error: task {task.id}: spans overlap: INDICATOR 0-6" in refused.output
    assert output.read_text(encoding="utf-8") == "[]\n"
    assert [p.name for p in output.parent.iterdir()] == ["bad.json"]


def test_server_command_explains_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    missing = runner.invoke(ls_app, ["server", "--data-dir", str(tmp_path / "data")])
    assert missing.exit_code == 1
    assert "set LABEL_STUDIO_USERNAME, LABEL_STUDIO_PASSWORD, LABEL_STUDIO_USER_TOKEN first" in missing.output

    monkeypatch.setenv("LABEL_STUDIO_USERNAME", "admin@example.com")
    monkeypatch.setenv("LABEL_STUDIO_PASSWORD", "secret-password")
    monkeypatch.setenv("LABEL_STUDIO_USER_TOKEN", "token-123456")
    venv = tmp_path / "no-venv"
    not_installed = runner.invoke(ls_app, ["server", "--no-install", "--venv", str(venv)])
    assert not_installed.exit_code == 1
    assert f"-m venv {venv} && {venv}/bin/python -m pip install label-studio==" in not_installed.output
    assert not venv.exists()


def test_server_command_starts_label_studio_and_stops_on_ctrl_c(label_studio: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "label-studio-data"
    # A migrated data directory (the fixture's template) starts in seconds instead of a minute.
    shutil.copytree(label_studio.template, data_dir, ignore=shutil.ignore_patterns(*label_studio.template_skip))
    port = free_port()
    env = {**os.environ, "LABEL_STUDIO_USERNAME": label_studio.username,
           "LABEL_STUDIO_PASSWORD": label_studio.password, "LABEL_STUDIO_USER_TOKEN": label_studio.token}
    # A shell running the tests as a background job starts them with SIGINT ignored, and an ignored
    # signal stays ignored across exec: give the command Ctrl+C back, as a terminal would have it.
    start = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    command = [sys.executable, "-c", start + "from govtargets.cli_ls import ls_app; ls_app()", "server", "--port",
               str(port), "--data-dir", str(data_dir), "--venv", str(label_studio.venv), "--no-install"]
    # Its own session, so that SIGINT can go to the whole group as Ctrl+C in a terminal does.
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for raw in process.stdout:
            lines.append(raw.decode())
            if "Label Studio is running" in lines[-1] or process.poll() is not None:
                break
        assert f"Label Studio is running: open http://127.0.0.1:{port}" in "".join(lines), "".join(lines)
        # Keep reading: Label Studio logs to the same pipe, and a full pipe would block it (and us) at shutdown.
        drain = threading.Thread(target=lambda: lines.extend(raw.decode() for raw in process.stdout), daemon=True)
        drain.start()
        Client(Connection(f"http://127.0.0.1:{port}", label_studio.token))
        os.killpg(process.pid, signal.SIGINT)
        # stop_server allows Label Studio 20 s after SIGTERM before it kills it.
        assert process.wait(timeout=45) == 0, "".join(lines[-40:])
        assert not port_in_use(port)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- the ML backend ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ml_url(backend: Backend) -> Iterator[str]:
    server = make_server(backend, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ml_backend_answers_the_label_studio_protocol(ml_url: str, backend: Backend) -> None:
    health = httpx.get(f"{ml_url}/health").json()
    assert health["status"] == "UP"
    setup = httpx.post(f"{ml_url}/setup", json={"project": "1.1700000000", "schema": read_label_config()})
    assert setup.json() == {"model_version": model_version(backend)}
    foreign = httpx.post(f"{ml_url}/setup", json={"project": "1.1", "schema": FOREIGN_CONFIG})
    assert foreign.status_code == 400 and "not the govtargets label config" in foreign.json()["error"]

    texts = ["😀全市地区生产总值增长５.５％左右，城镇新增就业2万人以上。", "确保恒力新材料项目开工建设。", ""]
    tasks = [{"id": i, "data": {"text": text}} for i, text in enumerate(texts)]
    response = httpx.post(f"{ml_url}/predict", json={"tasks": tasks, "label_config": read_label_config(),
                                                     "project": "1.1", "params": {"context": None}})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 3
    for text, prediction in zip(texts, results, strict=True):
        assert prediction["model_version"] == model_version(backend)
        spans = results_to_spans(text, prediction["result"], "prediction")[0]
        assert as_tuples(spans) == as_tuples(predict_spans(text, backend))
    first = results_to_spans(texts[0], results[0]["result"], "p")[0]
    assert {s.text for s in first} >= {"５.５", "％", "2", "万人"}
    assert results[2]["result"] == []

    assert httpx.post(f"{ml_url}/webhook", json={"action": "ANNOTATION_CREATED"}).status_code == 200
    assert httpx.post(f"{ml_url}/predict", content=b"not json").status_code == 400
    assert httpx.post(f"{ml_url}/predict", json={"tasks": [{"data": {}}]}).status_code == 400
    assert httpx.get(f"{ml_url}/nowhere").status_code == 404


def test_connect_model_prelabels_tasks_in_label_studio(client: Client, ml_url: str, backend: Backend) -> None:
    project, _ = client.ensure_project("connect model", read_label_config(), "none yet")
    text = "今年全市地区生产总值增长5.5%左右，确保恒力新材料项目开工建设。"
    client.import_tasks(project.id, [{"data": {"text": text, "key": "ml"}}])
    task = tasks_of(client, project.id)[0]
    assert task.predictions == []

    client.sdk.ml.create(project=project.id, url=ml_url, title="govtargets")
    client.sdk.actions.create(id="retrieve_tasks_predictions", project=project.id,
                              selected_items={"all": False, "included": [task.id]})
    predictions = tasks_of(client, project.id)[0].predictions
    assert [p.model_version for p in predictions] == [model_version(backend)]
    spans = results_to_spans(text, predictions[0].result, "prediction")[0]
    assert as_tuples(spans) == as_tuples(predict_spans(text, backend))
    assert {"INDICATOR", "VALUE", "UNIT", "PROJECT"} <= {s.label for s in spans}
