#!/usr/bin/env python3
"""Drives the review console (docs/console.md) in headless Chromium.

The caller (an integration test) starts outboxd with the console on, a
tokens file, and rows in the table; this script clicks through the page
like a person would and asserts on the DOM, then the caller checks the
database and the broker. Exit 0: every step passed; 1: a step failed (its
name and why on stderr); 77: skipped (no Selenium, Chromium or
chromedriver here).

    python3 tests/browser/console_browser.py --url http://127.0.0.1:PORT/console/ \
        --read-token R --write-token W --parked-id A --xss-id B --requeue-id C \
        --close-id D --refuse-id E --topic T --screenshot OUT.png --result OUT.json

The page's data-test names are listed at the top of
src/console/assets/app.js.
"""
import argparse
import json
import os
import re
import sys
import time

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
EXIT_SKIPPED = 77
WAIT_S = 15
CLOSE_NOTE = "closed by the browser test: duplicate"
XSS_MARK = "<script>"

# Chromium logs every fetch answered 4xx as a SEVERE "Failed to load
# resource: the server responded with a status of 401 (Unauthorized)".
# Those are expected in the steps that go without a token or with a read
# token, and nowhere else.
EXPECTED_STATUS_BY_STEP = {"no token": {401}, "refused without a token": {401, 403}}
# (Chromium asks for /favicon.ico by itself; outboxd answers it 204, so it
# leaves nothing in the log.)


class StepFailed(Exception):
    pass


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="the console page, e.g. http://127.0.0.1:PORT/console/")
    p.add_argument("--read-token", required=True)
    p.add_argument("--write-token", required=True)
    p.add_argument("--parked-id", type=int, required=True, help="a parked row (A)")
    p.add_argument("--xss-id", type=int, required=True, help="a row whose payload and last_error hold markup (B)")
    p.add_argument("--requeue-id", type=int, required=True, help="a row to requeue (C)")
    p.add_argument("--close-id", type=int, required=True, help="a row to close (D)")
    p.add_argument("--refuse-id", type=int, required=True, help="a row the refused requeues try (E)")
    p.add_argument("--topic", required=True, help="a topic some but not all listed rows have (T)")
    p.add_argument("--screenshot", required=True)
    p.add_argument("--result", required=True)
    return p.parse_args()


def skip_reason():
    try:
        import selenium  # noqa: F401
    except ImportError as e:
        return "selenium cannot be imported (%s): pip install -r tests/browser/requirements.txt" % e
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return "%s is missing (apt-get install chromium chromium-driver)" % path
    return None


class ConsoleRun:
    def __init__(self, args):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.args = args
        self.steps = []          # names of the steps that passed
        self.current = None      # the step running now
        self.console = []        # every browser log entry, with its step
        self.observed = {}
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        # Both paths given: Selenium Manager has nothing to look up or download.
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)

    # ---- helpers -----------------------------------------------------------

    def q(self, name):
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, '[data-test="%s"]' % name)

    def qs(self, selector):
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def wait(self, what, predicate, timeout=WAIT_S):
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(lambda d: predicate())
        except TimeoutException:
            raise StepFailed("timed out after %ss waiting for %s" % (timeout, what)) from None

    def text(self, name):
        return self.driver.execute_script(
            "const n = document.querySelector('[data-test=\"' + arguments[0] + '\"]'); return n ? n.textContent : null;", name)

    def loaded(self, table):
        return int(self.q(table).get_attribute("data-loaded") or "0")

    def wait_table(self, table, after):
        """Waits for a load of `table` (rows or actions) newer than `after`."""
        def done():
            tbody = self.q(table)
            return int(tbody.get_attribute("data-loaded") or "0") > after and \
                tbody.get_attribute("data-state") in ("ready", "error")
        self.wait("the %s table to load" % table, done)
        state = self.q(table).get_attribute("data-state")
        if state != "ready":
            raise StepFailed("the %s table did not load: %s" % (table, self.text("error-banner")))

    def row_ids(self):
        return [int(r.get_attribute("data-id")) for r in self.qs('[data-test="rows"] [data-test="row"]')]

    def row(self, row_id):
        found = self.qs('[data-test="rows"] [data-test="row"][data-id="%d"]' % row_id)
        return found[0] if found else None

    def find_row(self, row_id):
        """The row's <tr>, paging forward from the first page when needed."""
        if self.row(row_id) is not None:
            return self.row(row_id)
        if self.q("first-page").is_enabled():
            before = self.loaded("rows")
            self.q("first-page").click()
            self.wait_table("rows", before)
        while self.row(row_id) is None:
            if not self.q("next-page").is_enabled():
                raise StepFailed("row %d is not listed (status filter %s)" % (
                    row_id, self.q("status-select").get_attribute("value")))
            before = self.loaded("rows")
            self.q("next-page").click()
            self.wait_table("rows", before)
        return self.row(row_id)

    def use_token(self, token):
        before = self.loaded("rows")
        field = self.q("token-input")
        field.clear()
        field.send_keys(token)
        self.q("token-use").click()
        self.wait_table("rows", before)

    def open_detail(self, row_id):
        from selenium.webdriver.common.by import By
        self.find_row(row_id).find_element(By.CSS_SELECTOR, '[data-test="open-row"]').click()
        self.wait("the detail of row %d" % row_id, lambda: (
            self.q("detail").get_attribute("data-id") == str(row_id)
            and self.q("detail").get_attribute("data-state") in ("ready", "error")))
        if self.q("detail").get_attribute("data-state") != "ready":
            raise StepFailed("the detail of row %d did not load: %s" % (row_id, self.text("detail-last-error")))

    def tick(self, row_id):
        from selenium.webdriver.common.by import By
        box = self.find_row(row_id).find_element(By.CSS_SELECTOR, '[data-test="row-select"]')
        if not box.is_enabled():
            raise StepFailed("row %d cannot be selected (status %s)" % (
                row_id, self.row(row_id).get_attribute("data-status")))
        if not box.is_selected():
            box.click()
        self.wait("row %d to be selected" % row_id, box.is_selected)

    def run_action(self, button, expect_count, note=None):
        """Clicks an action button, checks and confirms the dialog; returns
        the message shown afterwards."""
        shown = int(self.q("message").get_attribute("data-seq") or "0")
        self.q(button).click()
        dialog = self.q("dialog")
        self.wait("the confirmation dialog", dialog.is_displayed)
        count_text = self.text("dialog-count")
        if not re.search(expect_count, count_text):
            raise StepFailed("the dialog says %r, expected %s" % (count_text, expect_count))
        if note is not None:
            if self.q("dialog-confirm").is_enabled():
                raise StepFailed("the close dialog's confirm button is enabled before a note is typed")
            self.q("dialog-note").send_keys(note)
        self.wait("the confirm button to be enabled", self.q("dialog-confirm").is_enabled)
        self.q("dialog-confirm").click()
        self.wait("the dialog to close", lambda: not dialog.is_displayed())
        self.wait("the result message", lambda: int(self.q("message").get_attribute("data-seq") or "0") > shown)
        return self.text("message")

    def collect_console(self):
        for entry in self.driver.get_log("browser"):
            entry = dict(entry)
            entry["step"] = self.current
            self.console.append(entry)

    # ---- the steps ---------------------------------------------------------

    def step(self, name, fn):
        self.current = name
        try:
            fn()
        finally:
            self.collect_console()
        self.steps.append(name)

    def no_token(self):
        self.driver.get(self.args.url)
        self.wait("the token prompt", lambda: self.q("error-banner").is_displayed()
                  and "token" in (self.text("error-banner") or "").lower())
        self.observed["prompt"] = self.text("error-banner")
        if self.row_ids():
            raise StepFailed("rows are listed without a token")
        if self.driver.execute_script("return sessionStorage.getItem('outboxd.token')") is not None:
            raise StepFailed("a token is stored before one was entered")

    def write_token(self):
        self.use_token(self.args.write_token)
        self.wait("the summary's parked count", lambda: re.fullmatch(r"[\d,]+", self.text("summary-parked") or ""))
        parked = int(self.text("summary-parked").replace(",", ""))
        if parked < 1:
            raise StepFailed("the summary shows %d parked rows, expected at least 1" % parked)
        ids = self.row_ids()
        if not ids:
            raise StepFailed("the rows table is empty")
        if self.driver.execute_script("return sessionStorage.getItem('outboxd.token')") != self.args.write_token:
            raise StepFailed("the token is not in sessionStorage under outboxd.token")
        if self.driver.get_cookies():
            raise StepFailed("the page set cookies: %s" % self.driver.get_cookies())
        self.observed.update(parked=parked, rows_listed=len(ids), access=self.text("access"))

    def xss_row(self):
        b = self.args.xss_id
        self.open_detail(b)
        last_error = self.text("detail-last-error")
        payload = self.text("detail-payload")
        cell = self.text_of_row_cell(b, "row-last-error")
        shown = [("the detail's last_error", last_error), ("the table's last_error cell", cell)]
        # A payload the server sends as hex cannot show the markup as text.
        if "hex" not in (self.q("detail-payload").get_attribute("class") or "").split():
            shown.append(("the detail's payload", payload))
        for where, text in shown:
            if XSS_MARK not in text:
                raise StepFailed("%s does not show %s literally: %r" % (where, XSS_MARK, text[:300]))
        imgs = self.qs('[data-test="detail"] img, [data-test="rows"] img')
        if imgs:
            raise StepFailed("an <img> element was created from row data (%d)" % len(imgs))
        scripts = self.driver.execute_script("return Array.from(document.scripts).map(s => s.src)")
        if len(scripts) != 1 or not scripts[0].endswith("/app.js"):
            raise StepFailed("unexpected script elements: %s" % scripts)
        xss = self.driver.execute_script("return typeof window.__xss")
        if xss != "undefined":
            raise StepFailed("window.__xss is %s: markup from the data ran" % xss)
        self.observed["xss_last_error"] = last_error

    def text_of_row_cell(self, row_id, cell):
        from selenium.webdriver.common.by import By
        node = self.find_row(row_id).find_element(By.CSS_SELECTOR, '[data-test="%s"]' % cell)
        return self.driver.execute_script("return arguments[0].textContent", node)

    def parked_row(self):
        a = self.args.parked_id
        self.open_detail(a)
        last_error = (self.text("detail-last-error") or "").strip()
        payload = (self.text("detail-payload") or "").strip()
        if not last_error or last_error == "(none)":
            raise StepFailed("row %d's detail shows no last_error" % a)
        if not payload or self.q("detail-payload").get_attribute("data-null") == "true":
            raise StepFailed("row %d's detail shows no payload" % a)
        self.observed["parked_row"] = {"id": a, "last_error": last_error, "payload": payload,
                                       "payload_meta": self.text("detail-payload-meta")}

    def filter_topic(self):
        t = self.args.topic
        if self.q("first-page").is_enabled():
            before = self.loaded("rows")
            self.q("first-page").click()
            self.wait_table("rows", before)
        before_ids = self.row_ids()
        before = self.loaded("rows")
        self.q("filter-topic").clear()
        self.q("filter-topic").send_keys(t)
        self.q("apply").click()
        self.wait_table("rows", before)
        topics = [self.driver.execute_script("return arguments[0].textContent", c)
                  for c in self.qs('[data-test="rows"] [data-test="row-topic"]')]
        if not topics:
            raise StepFailed("no row listed for topic %r" % t)
        wrong = [x for x in topics if x != t]
        if wrong:
            raise StepFailed("rows of other topics listed with the filter %r: %s" % (t, wrong[:5]))
        if len(topics) >= len(before_ids):
            raise StepFailed("the topic filter listed %d rows, not fewer than the %d before" % (len(topics), len(before_ids)))
        self.observed["topic_filter"] = {"topic": t, "before": len(before_ids), "after": len(topics)}

    def clear_topic(self):
        before = self.loaded("rows")
        self.q("filter-topic").clear()
        self.q("apply").click()
        self.wait_table("rows", before)

    def requeue(self):
        c = self.args.requeue_id
        self.clear_topic()
        self.tick(c)
        before = self.loaded("rows")
        message = self.run_action("requeue-selected", r"\b1 row\b")
        if not re.search(r"\bRequeued 1 row\b", message):
            raise StepFailed("after requeueing row %d the message says %r" % (c, message))
        self.wait_table("rows", before)
        if self.row(c) is not None:
            raise StepFailed("row %d is still listed after it was requeued" % c)
        self.observed["requeue_message"] = message

    def close(self):
        d = self.args.close_id
        self.tick(d)
        message = self.run_action("close-selected", r"\b1 row\b", note=CLOSE_NOTE)
        if not re.search(r"\bClosed 1 row\b", message):
            raise StepFailed("after closing row %d the message says %r" % (d, message))

        def logged():
            if self.q("actions").get_attribute("data-state") != "ready":
                return False
            notes = [self.driver.execute_script("return arguments[0].textContent", n)
                     for n in self.qs('[data-test="actions"] [data-test="action-note"]')]
            return CLOSE_NOTE in notes
        self.wait("the action log to show the note %r" % CLOSE_NOTE, logged)
        self.observed["close_message"] = message

    def refused(self):
        e = self.args.refuse_id
        self.find_row(e)
        self.q("token-forget").click()
        if self.driver.execute_script("return sessionStorage.getItem('outboxd.token')") is not None:
            raise StepFailed("Forget token left the token in sessionStorage")
        if self.row(e) is None:
            raise StepFailed("the rows table was emptied by Forget token")
        self.tick(e)
        message = self.run_action("requeue-selected", r"\b1 row\b")
        if "401" not in message:
            raise StepFailed("a requeue without a token shows %r, expected a 401" % message)
        self.observed["no_token_message"] = message
        self.use_token(self.args.read_token)
        self.tick(e)
        message = self.run_action("requeue-selected", r"\b1 row\b")
        if "403" not in message:
            raise StepFailed("a requeue with the read token shows %r, expected a 403" % message)
        self.observed["read_token_message"] = message
        self.wait("row %d to be listed still" % e, lambda: self.row(e) is not None)

    def console_log(self):
        unexpected = []
        for entry in self.console:
            if entry.get("level") != "SEVERE":
                continue
            m = re.search(r"status of (\d{3})", entry.get("message", ""))
            allowed = EXPECTED_STATUS_BY_STEP.get(entry.get("step"), set())
            entry["expected"] = bool(m and int(m.group(1)) in allowed)
            if not entry["expected"]:
                unexpected.append(entry)
        if unexpected:
            raise StepFailed("browser console errors: %s" % [e.get("message") for e in unexpected])

    def screenshot(self):
        from selenium.webdriver.support.ui import Select
        self.use_token(self.args.write_token)
        if self.q("status-select").get_attribute("value") != "2,4":
            before = self.loaded("rows")
            Select(self.q("status-select")).select_by_value("2,4")  # "both"
            self.wait_table("rows", before)
        self.wait("the action log", lambda: self.q("actions").get_attribute("data-state") == "ready")
        if self.row(self.args.parked_id) is not None:
            self.open_detail(self.args.parked_id)
        # Tall enough for the whole page, so the action log is in the picture
        # (twice: the new size can move the layout).
        for _ in range(2):
            height = self.driver.execute_script(
                "return document.documentElement.scrollHeight + (window.outerHeight - window.innerHeight)")
            self.driver.set_window_size(1400, max(1000, min(int(height) + 8, 4000)))
        self.driver.execute_script("window.scrollTo(0, 0)")
        if not self.driver.save_screenshot(self.args.screenshot):
            raise StepFailed("could not write %s" % self.args.screenshot)

    def run(self):
        self.step("no token", self.no_token)
        self.step("write token", self.write_token)
        self.step("markup shown as text", self.xss_row)
        self.step("parked row detail", self.parked_row)
        self.step("topic filter", self.filter_topic)
        self.step("requeue selected", self.requeue)
        self.step("close with a note", self.close)
        self.step("refused without a token", self.refused)
        self.step("screenshot", self.screenshot)
        # Last, so that it covers every step's log, the screenshot's included.
        self.current = "browser console"
        self.console_log()
        self.steps.append("browser console")


def main():
    args = parse_args()
    why = skip_reason()
    if why:
        print("SKIPPED: %s" % why)
        with open(args.result, "w") as fh:
            json.dump({"skipped": why, "steps": [], "failed": None, "console": [], "console_errors": []}, fh, indent=2)
        return EXIT_SKIPPED
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach the network
    result = {"steps": [], "failed": None, "console": [], "console_errors": [], "observed": {}}
    run = None
    status = 0
    started = time.monotonic()
    try:
        run = ConsoleRun(args)
        run.run()
    except Exception as e:  # a failed assertion, or the browser/driver giving up
        step = run.current if run else "start the browser"
        kind = "" if isinstance(e, StepFailed) else type(e).__name__ + ": "
        result["failed"] = {"step": step, "error": kind + str(e).strip()}
        print("FAILED step %r: %s%s" % (step, kind, str(e).strip()), file=sys.stderr)
        status = 1
        if run:
            try:
                run.collect_console()
                base, _ = os.path.splitext(args.screenshot)
                run.driver.save_screenshot(base + ".failed.png")
                result["failure_screenshot"] = base + ".failed.png"
            except Exception:  # the browser may be gone; the report matters more
                pass
    finally:
        if run:
            result["steps"] = run.steps
            result["observed"] = run.observed
            result["console"] = run.console
            result["console_errors"] = [e for e in run.console if e.get("level") == "SEVERE"]
            try:
                run.driver.quit()
            except Exception:
                pass
        result["seconds"] = round(time.monotonic() - started, 2)
        with open(args.result, "w") as fh:
            json.dump(result, fh, indent=2)
    if status == 0:
        print("all %d steps passed: %s" % (len(result["steps"]), ", ".join(result["steps"])))
    return status


if __name__ == "__main__":
    sys.exit(main())
