import base64
import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import websocket
from typer.testing import CliRunner

from govtargets.documents import Document, document_from_text
from govtargets.records import Record, Span
from govtargets.report import DocView, render_records_report, render_report, render_views

CHROMIUM = Path("/usr/bin/chromium")
CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
    "--window-size=1400,900",
)
VIEWPORT = {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False}

PLAN = "今年主要预期目标是：地区生产总值增长6.5%左右；城镇调查失业率控制在5.5%以内。"
TRICKY = '标题 <script>alert("x")</script> & 引号 \'单\' "双"。\n'


def ensure_chromium() -> Path:
    """Debian's chromium (and CJK fonts, so the screenshot is readable), installed once if missing."""
    missing = [
        package
        for package, path in (("chromium", CHROMIUM), ("fonts-noto-cjk", CJK_FONT))
        if not path.exists()
    ]
    if missing:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600, check=False)
        result = subprocess.run(
            ["apt-get", "install", "-y", "-q", *missing],
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(f"apt-get install {' '.join(missing)} failed: {result.stderr.strip()[-400:]}")
    return CHROMIUM


class Browser:
    """Headless Chromium driven over the Chrome DevTools Protocol (one page, one websocket)."""

    def __init__(self, binary: Path, profile: Path) -> None:
        self.log = (profile.parent / f"{profile.name}.log").open("w")
        self.process = subprocess.Popen(
            [str(binary), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        self.events: list[dict[str, Any]] = []
        self.next_id = 0
        try:
            port = self._wait_for_port(profile / "DevToolsActivePort")
            # Local connection: never through a proxy from the environment.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
                targets = json.load(response)
            page = next(t for t in targets if t["type"] == "page")
            self.socket = websocket.create_connection(
                page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True, http_no_proxy=["127.0.0.1"]
            )
            for domain in ("Runtime", "Log", "Page"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", **VIEWPORT)
        except BaseException:
            self.close()
            raise

    def _wait_for_port(self, port_file: Path) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) >= 2:
                return int(lines[0])
            time.sleep(0.05)
        raise RuntimeError("chromium did not open its DevTools port within 30 s")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.events):
                if message.get("method") == event:
                    return self.events.pop(index)
            if time.monotonic() > deadline:
                raise TimeoutError(event)
            self.events.append(json.loads(self.socket.recv()))

    def open(self, path: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, x: float, y: float) -> None:
        """A real mouse click (pressed and released), as a user's."""
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def click_element(self, selector: str) -> None:
        box = self.evaluate(
            f"(function () {{ var el = document.querySelector({json.dumps(selector)});"
            " el.scrollIntoView({block: 'center'}); var r = el.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        self.click(box[0], box[1])

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors seen so far."""
        self.evaluate("0")  # flush events that arrived after the last call
        errors: list[str] = []
        for message in self.events:
            method, params = message.get("method"), message.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append(str(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(str(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(str(params["entry"]))
        return errors

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        socket = getattr(self, "socket", None)
        if socket is not None:
            socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = ensure_chromium()
    chrome = Browser(binary, tmp_path_factory.mktemp("chromium") / "profile")
    yield chrome
    chrome.close()


def tag_sentence(doc: Document, needle: str, labels: list[tuple[str, str]]) -> tuple[Any, list[Span]]:
    """The sentence of `doc` containing `needle`, with spans for each (label, text) in order of appearance."""
    sentence = next(s for s in doc.sentences if needle in s.text)
    spans: list[Span] = []
    at = 0
    for label, text in labels:
        at = sentence.text.index(text, at)
        spans.append(Span(label, at, at + len(text), text, 0.9))
        at += len(text)
    return sentence, spans


def grounded(doc: Document, sentence: Any, spans: list[Span], **fields: Any) -> Record:
    """A record whose `spans` point into `doc.source`, as the pipeline grounds them."""
    names = {"INDICATOR": "indicator", "VALUE": "value", "UNIT": "unit", "PROJECT": "project"}
    offsets = {
        names[s.label]: list(doc.to_source(sentence.start + s.start, sentence.start + s.end)) for s in spans
    }
    return Record(
        doc=doc.path,
        sentence=sentence.text,
        sentence_start=doc.to_source(sentence.start, sentence.end)[0],
        spans=offsets,
        confidence=0.9,
        region=doc.meta.region,
        year=doc.meta.year,
        **fields,
    )


def sample_document(filler: int = 0) -> tuple[Document, list[tuple[Any, list[Span]]], list[Record]]:
    """A small report: tricky characters, `filler` lines of review, a plan with two targets and a project."""
    text = (TRICKY + "一、过去一年工作回顾\n" + "全年地区生产总值增长6.9%。\n" * filler
            + "二、今年工作安排\n" + PLAN + "\n推动华虹二期项目年内投产达效。\n")
    doc = document_from_text(text, "sample.txt", title="某市政府工作报告", region="某市", year=2023)
    gdp = tag_sentence(doc, "地区生产总值增长6.5%", [("INDICATOR", "地区生产总值"), ("VALUE", "6.5"),
                                                  ("UNIT", "%")])
    jobs = tag_sentence(doc, "城镇调查失业率", [("INDICATOR", "城镇调查失业率"), ("VALUE", "5.5"),
                                             ("UNIT", "%")])
    project = tag_sentence(doc, "华虹二期", [("PROJECT", "华虹二期")])
    records = [
        grounded(doc, *gdp, indicator="地区生产总值", value=6.5, unit="%", comparator="~", measure="growth",
                 status="target"),
        grounded(doc, *jobs, indicator="城镇调查失业率", value=5.5, unit="%", comparator="<=",
                 measure="level", status="target"),
        grounded(doc, *project, kind="project", project="华虹二期", action="投产达效", status="target"),
    ]
    return doc, [gdp, jobs, project], records


def test_text_and_attributes_are_escaped() -> None:
    page = render_report([sample_document()])
    assert page.count("<script>") == 1  # only the page's own script
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 引号 &#x27;单&#x27; &quot;双&quot;" in page
    )
    assert 'alert("x")' not in page
    # Self-contained: no external scripts, styles, images or links.
    assert not re.search(r"""(?:src|href)=["'](?!#)|<link|@import|url\(""", page)


def test_spans_are_highlighted_with_label_and_confidence() -> None:
    page = render_report([sample_document()])
    assert re.search(
        r'<span class="hl l-INDICATOR" title="INDICATOR · confidence 0.90" data-r="0">'
        r"地区生产总值</span>",
        page,
    )
    assert re.search(
        r'<span class="hl l-VALUE" title="VALUE · confidence 0.90" data-r="0" data-k="0">'
        r"6.5</span>",
        page,
    )
    assert re.search(r'<span class="hl l-PROJECT"[^>]* data-r="2" data-k="2">华虹二期</span>', page)
    # The row for record 0 carries its filters and jumps to the value.
    assert '<tr tabindex="0" data-r="0" data-doc="0" data-kind="target" data-status="target"' in page
    for label in ("INDICATOR", "VALUE", "UNIT", "PROJECT"):
        assert f".l-{label} {{" in page


def test_shared_and_overlapping_evidence() -> None:
    text = "城镇新增就业、农村劳动力转移就业分别达到2万人以上。"
    indicator = (0, 6)
    records = [
        Record(
            doc="d",
            sentence=text,
            indicator="城镇新增就业",
            value=2.0,
            unit="万人",
            spans={"indicator": [0, 16], "value": [20, 21], "unit": [21, 23], "comparator": [23, 25]},
        ),
        Record(
            doc="d",
            sentence=text,
            indicator="农村劳动力转移就业",
            value=2.0,
            unit="万人",
            spans={"indicator": [7, 16], "value": [20, 21], "unit": [21, 23]},
        ),
    ]
    view = DocView(
        key="d",
        text=text,
        spans=[Span("INDICATOR", *indicator, "城镇新增就业"), Span("VALUE", 20, 21, "2")],
        records=records,
        evidence=[{k: (v[0], v[1]) for k, v in r.spans.items()} for r in records],
    )
    page = render_views([view])
    assert (
        '<span class="hl l-VALUE" title="VALUE · confidence 1.00" data-r="0 1" data-k="0 1">2</span>' in page
    )
    assert 'title="cue: comparator" data-r="0">以上</span>' in page
    # Record 1's indicator starts inside record 0's: its part carries both ids.
    assert 'data-r="0 1">农村劳动力转移就业</span>' in page


def test_records_report_shows_sentences_and_finds_shifted_spans() -> None:
    # The source had a page break inside the sentence that cleaning repaired, so source offsets after
    # it are two characters further on than in the sentence as written.
    sentence = "国内生产总值达到74.4万亿元，增长6.7%"
    start = 1000
    records = [
        Record(
            doc="r2017",
            sentence=sentence,
            sentence_start=start,
            indicator="国内生产总值",
            value=74.4,
            unit="万亿元",
            status="actual",
            spans={"indicator": [1000, 1006], "value": [1008, 1012], "unit": [1014, 1017]},
            year=2017,
            region="全国",
        ),
        Record(
            doc="r2017",
            sentence="今年国内生产总值增长6.5%左右",
            sentence_start=5000,
            indicator="国内生产总值",
            value=6.5,
            unit="%",
            comparator="~",
            status="target",
            measure="growth",
            spans={"value": [5010, 5013]},
            year=2017,
            region="全国",
        ),
        Record(
            doc="other",
            kind="project",
            sentence="华虹二期投产",
            sentence_start=7,
            project="华虹二期",
            spans={"project": [7, 11]},
        ),
    ]
    page = render_records_report(records)
    assert "(sentences with records only)" in page
    assert page.count('<article class="doc"') == 2
    assert re.search(r'class="hl l-UNIT"[^>]*data-r="0">万亿元</span>', page)
    assert re.search(r'class="hl l-VALUE"[^>]*data-k="1">6.5</span>', page)
    assert page.index("达到") < page.index("今年国内生产总值")


def test_large_document_renders_fast() -> None:
    sentence = "地区生产总值增长6.5%左右，规上工业增加值增长7%。"
    text = sentence * 40_000  # 1.2 million characters
    spans: list[Span] = []
    records: list[Record] = []
    evidence: list[dict[str, tuple[int, int]]] = []
    for n in range(0, len(text), len(sentence)):
        spans += [
            Span("INDICATOR", n, n + 6, "地区生产总值"),
            Span("VALUE", n + 8, n + 11, "6.5"),
            Span("UNIT", n + 11, n + 12, "%"),
        ]
        if n % (len(sentence) * 4) == 0:
            records.append(Record(doc="big", value=6.5, status="target"))
            evidence.append(
                {"indicator": (n, n + 6), "value": (n + 8, n + 11), "comparator": (n + 12, n + 14)}
            )
    view = DocView(key="big", text=text, spans=spans, records=records, evidence=evidence)
    started = time.perf_counter()
    page = render_views([view])
    elapsed = time.perf_counter() - started
    assert page.count("l-VALUE") >= 40_000
    assert elapsed < 10, f"{elapsed:.1f} s"


def write_page(directory: Path, page: str, name: str = "report.html") -> Path:
    path = directory / name
    path.write_text(page, encoding="utf-8")
    return path


def test_page_in_chromium(browser: Browser, tmp_path: Path) -> None:
    document = sample_document(filler=300)
    browser.open(write_page(tmp_path, render_report([document])))
    assert browser.console_errors() == []
    counts = browser.evaluate(
        "['INDICATOR', 'VALUE', 'UNIT', 'PROJECT'].map(function (l) {"
        " return document.querySelectorAll('#docs .l-' + l).length; })"
    )
    assert counts == [2, 2, 2, 1]
    assert browser.evaluate("document.querySelector('#docs .l-VALUE').title") == "VALUE · confidence 0.90"
    # The escaped title is shown as text, not run.
    assert 'alert("x")' in browser.evaluate("document.querySelector('#docs .text').textContent")

    in_view = (
        "(function () { var el = document.querySelector('#docs [data-k~=\"1\"]');"
        " var r = el.getBoundingClientRect(), p = document.getElementById('docs').getBoundingClientRect();"
        " return [r.top >= p.top && r.bottom <= p.bottom, el.classList.contains('flash')]; })()"
    )
    assert browser.evaluate(in_view) == [False, False]  # the plan is far below the review
    browser.click_element('#records tr[data-r="1"]')
    assert browser.evaluate(in_view) == [True, True]
    assert browser.evaluate("document.querySelector('#records tr[data-r=\"1\"]').classList.contains('sel')")
    flashed = browser.evaluate(
        "Array.prototype.map.call(document.querySelectorAll('#docs .flash'),"
        " function (el) { return el.textContent; }).join('|')"
    )
    assert flashed == "城镇调查失业率|5.5|%"
    browser.screenshot(tmp_path / "report.png")
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Sorting: click the value header twice (ascending, then descending).
    values = (
        "Array.prototype.map.call(document.querySelectorAll('#records tbody tr'),"
        " function (r) { return r.cells[5].textContent; })"
    )
    browser.click_element("#records th:nth-child(6)")
    assert browser.evaluate(values) == ["5.5", "6.5", ""]
    browser.click_element("#records th:nth-child(6)")
    assert browser.evaluate(values) == ["6.5", "5.5", ""]

    # Filters: measure select and the indicator text filter.
    visible = "document.querySelectorAll('#records tbody tr:not([hidden])').length"
    browser.evaluate(
        "var s = document.getElementById('f-measure'); s.value = 'growth';"
        " s.dispatchEvent(new Event('change'))"
    )
    assert browser.evaluate(visible) == 1
    browser.evaluate(
        "var s = document.getElementById('f-measure'); s.value = ''; s.dispatchEvent(new Event('change'))"
    )
    browser.click_element("#f-what")
    browser.call("Input.insertText", text="失业")
    assert browser.evaluate(visible) == 1
    assert browser.evaluate("document.getElementById('shown').textContent") == "1 of 3 rows"
    assert browser.console_errors() == []


def test_records_page_in_chromium(browser: Browser, tmp_path: Path) -> None:
    _, _, records = sample_document(filler=200)
    browser.open(write_page(tmp_path, render_records_report(records)))
    assert browser.console_errors() == []
    assert browser.evaluate("document.querySelectorAll('#docs .hl').length") >= 7
    browser.click_element('#records tr[data-r="2"]')
    assert browser.evaluate("document.querySelector('#docs [data-k~=\"2\"]').classList.contains('flash')")
    # Clicking highlighted text selects its row.
    browser.click_element('#docs [data-k~="0"]')
    assert browser.evaluate("document.querySelector('#records tr.sel').getAttribute('data-r')") == "0"
    browser.screenshot(tmp_path / "records.png")
    assert browser.console_errors() == []


def cli() -> typer.Typer:
    from govtargets.cli_review import report_command

    app = typer.Typer()
    app.command()(report_command)
    return app


def test_report_command_from_records_and_reports(tmp_path: Path) -> None:
    _, _, records = sample_document()
    source = tmp_path / "targets.jsonl"
    source.write_text(
        "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli(), [str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "(sentences with records only)" in page and "华虹二期" in page

    report = tmp_path / "某市2023.txt"
    report.write_text("二、今年工作安排\n" + PLAN + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli(), [str(report), "-o", str(out), "--backend", "rules"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "l-VALUE" in page and "(sentences with records only)" not in page


def test_report_command_failures_leave_no_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(cli(), [str(tmp_path / "missing.txt"), "-o", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("error:") and result.output.count("\n") == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []
    result = CliRunner().invoke(cli(), [str(tmp_path), "-o", str(tmp_path / "nowhere" / "r.html")])
    assert result.exit_code == 2 and "does not exist" in result.output
