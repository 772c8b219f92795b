#!/usr/bin/env python3
"""Drives the cpsyncd admin page in headless Chromium for AdminPageTests (stdlib only).

The browser is controlled over the Chrome DevTools Protocol on --remote-debugging-pipe (file descriptors 3 and 4,
NUL-separated JSON), so there is no websocket, no chromedriver and no Selenium. Clicks and typing go through
Input.dispatchMouseEvent / Input.insertText, like a person would.

Prints one JSON object on stdout: {"ok": bool, "error": str|null, "observations": {...}, "dialogs": [...],
"problems": [...], "screenshots": [...]}. Exit status: 0 ok, 1 a check failed, 77 the browser cannot be started.
Everything it starts is stopped on every exit path (its own process group; the browser also dies with the pipe).
"""
import argparse
import base64
import ctypes
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

BROWSER_UNAVAILABLE = 77


class Unavailable(Exception):
    """The browser could not be found or started."""


class CheckFailed(Exception):
    """Something on the page was not as expected."""


def find_browser():
    for name in [os.environ.get("CPSYNC_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]:
        if name and shutil.which(name):
            return shutil.which(name)
    raise Unavailable("no chromium binary on PATH (install the Debian package 'chromium')")


def _die_with_parent():
    # Runs in the child before exec: own process group, and SIGKILL when the driver dies (PR_SET_PDEATHSIG).
    os.setpgid(0, 0)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


class Browser:
    def __init__(self, lang, timeout):
        self.timeout = timeout
        self.lang = lang
        self.profile = tempfile.mkdtemp(prefix="cpsync-chromium-")
        self.proc = None
        self.next_id = 0
        self.lock = threading.Lock()
        self.cond = threading.Condition()
        self.responses = {}
        self.events = []
        self.dialogs = []
        self.problems = []
        self.closed = False
        self.session = None
        self.viewport = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}

    # -- process --------------------------------------------------------------------------------------------
    def start(self):
        binary = find_browser()
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        args = [binary, "--headless=new", "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-features=Translate,MediaRouter",
                "--mute-audio", "--hide-scrollbars", "--password-store=basic", "--use-mock-keychain",
                "--window-size=1280,900", "--lang=" + self.lang, "--user-data-dir=" + self.profile, "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")
        env = dict(os.environ)
        env["LANGUAGE"] = self.lang.replace("-", "_")
        env["LANG"] = self.lang.replace("-", "_") + ".UTF-8"
        env.pop("LC_ALL", None)

        def child_setup():
            # Move both ends out of the way first, so that dup2 onto 3 and 4 never clobbers one of them and always
            # yields inheritable descriptors (Chromium reads commands on fd 3 and writes answers on fd 4).
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
            os.close(high_r)
            os.close(high_w)
            _die_with_parent()

        try:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, preexec_fn=child_setup, close_fds=False, env=env)
        except OSError as e:
            raise Unavailable("cannot start %s: %s" % (binary, e))
        os.close(to_child_r)
        os.close(from_child_w)
        self.out = os.fdopen(to_child_w, "wb", buffering=0)
        self.inp = os.fdopen(from_child_r, "rb", buffering=0)
        self.stderr_lines = []
        threading.Thread(target=self._read_loop, daemon=True).start()
        threading.Thread(target=self._stderr_loop, daemon=True).start()
        try:
            version = self.call("Browser.getVersion", timeout=20)
        except (CheckFailed, OSError) as e:
            raise Unavailable("chromium did not answer on the DevTools pipe: %s; stderr: %s"
                              % (e, " | ".join(self.stderr_lines[-5:])))
        self.version = version.get("product", "")
        target = self.call("Target.createTarget", {"url": "about:blank"})
        attached = self.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
        self.session = attached["sessionId"]
        for domain in ["Page", "Runtime", "Log"]:
            self.call(domain + ".enable")
        self.call("Emulation.setUserAgentOverride", {"userAgent": version.get("userAgent", ""), "acceptLanguage": self.lang})
        self.call("Emulation.setDeviceMetricsOverride", self.viewport)

    def resize(self, width, height, mobile):
        """Emulates a screen of that CSS size (mobile: the viewport meta tag applies, as on a phone)."""
        self.viewport = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
        self.call("Emulation.setDeviceMetricsOverride", self.viewport)
        self.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def overflow(self):
        """Horizontal overflow as the page computes it, and the elements sticking out past the right edge."""
        return self.js("""(() => {
            const w = window.innerWidth, d = document.documentElement;
            const out = [];
            for (const e of document.querySelectorAll('body *')) {
              if (e.offsetParent === null && getComputedStyle(e).position !== 'fixed') continue;
              const r = e.getBoundingClientRect();
              if (r.right > w + 0.5) out.push((e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '')) + ' ' + Math.round(r.right));
            }
            return {innerWidth: w, scrollWidth: Math.max(d.scrollWidth, document.body.scrollWidth), overflows: Math.max(d.scrollWidth, document.body.scrollWidth) > w, offenders: out.slice(0, 8)};
        })()""")

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        try:
            if proc.poll() is None:
                try:
                    self.send("Browser.close", session=False)
                except Exception:
                    pass
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the zygote, renderer and GPU helpers too
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for f in ("out", "inp"):
                try:
                    getattr(self, f).close()
                except Exception:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol -------------------------------------------------------------------------------------------
    def _stderr_loop(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip())
            del self.stderr_lines[:-50]

    def _read_loop(self):
        buf = b""
        while True:
            try:
                chunk = self.inp.read(65536)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                with self.cond:
                    self.closed = True
                    self.cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                try:
                    msg = json.loads(raw.decode("utf-8"))
                except ValueError:
                    continue
                if "id" in msg:
                    with self.cond:
                        self.responses[msg["id"]] = msg
                        self.cond.notify_all()
                else:
                    self._event(msg)

    def _event(self, msg):
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Page.javascriptDialogOpening":
            self.dialogs.append({"type": params.get("type"), "message": params.get("message")})
            # Answer from here: the page is blocked until the dialog is handled.
            self.send("Page.handleJavaScriptDialog", {"accept": False})
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.problems.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        elif method == "Log.entryAdded":
            e = params.get("entry", {})
            if e.get("level") in ("error", "warning") and "favicon" not in (e.get("url") or ""):
                self.problems.append("%s %s: %s" % (e.get("level"), e.get("source"), e.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.problems.append("console.%s: %s" % (params.get("type"),
                                                     " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))))
        with self.cond:
            self.events.append(msg)
            del self.events[:-200]

    def send(self, method, params=None, session=True):
        with self.lock:
            self.next_id += 1
            msg_id = self.next_id
            msg = {"id": msg_id, "method": method, "params": params or {}}
            if session and self.session:
                msg["sessionId"] = self.session
            self.out.write(json.dumps(msg).encode("utf-8") + b"\0")
        return msg_id

    def call(self, method, params=None, timeout=None, session=True):
        msg_id = self.send(method, params, session=session and self.session is not None)
        deadline = time.monotonic() + (timeout or self.timeout)
        with self.cond:
            while msg_id not in self.responses:
                if self.closed:
                    raise CheckFailed("browser closed the DevTools pipe during %s" % method)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CheckFailed("no answer to %s within %.0f s" % (method, timeout or self.timeout))
                self.cond.wait(left)
            msg = self.responses.pop(msg_id)
        if "error" in msg:
            raise CheckFailed("%s failed: %s" % (method, msg["error"].get("message")))
        return msg.get("result", {})

    # -- page helpers ---------------------------------------------------------------------------------------
    def js(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CheckFailed("script error in %r: %s" % (expression[:80], d.get("exception", {}).get("description") or d.get("text")))
        return r.get("result", {}).get("value")

    def wait(self, expression, what, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.js(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                state = self.js("""(() => { const t = (id) => { const e = document.getElementById(id); return e && !e.hidden ? e.textContent : ''; };
                    return {view: document.body && document.body.getAttribute('data-view'), banner: t('banner'),
                            signinError: t('signin-error'), summary: t('list-summary')}; })()""")
                raise CheckFailed("timed out waiting for %s (page: %s)" % (what, json.dumps(state, ensure_ascii=False)))
            time.sleep(0.05)

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete' && document.body && document.body.getAttribute('data-ready') === 'true'",
                  "the admin page to load")

    def click(self, selector):
        box = self.wait("""(() => { const e = document.querySelector(%s); if (!e || e.offsetParent === null) return null;
            e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();
            return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()""" % json.dumps(selector), "a visible " + selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1})

    def type(self, selector, text):
        self.click(selector)
        self.js("document.querySelector(%s).value = ''" % json.dumps(selector))
        self.call("Input.insertText", {"text": text})

    def text(self, selector):
        return self.js("(() => { const e = document.querySelector(%s); return e ? e.textContent : null; })()" % json.dumps(selector))

    def texts(self, selector):
        return self.js("Array.from(document.querySelectorAll(%s)).map(e => e.textContent)" % json.dumps(selector))

    def screenshot(self, path):
        height = self.js("Math.min(4000, Math.max(document.documentElement.scrollHeight, document.body.scrollHeight))")
        self.call("Emulation.setDeviceMetricsOverride", dict(self.viewport, height=max(int(height), 200)))
        try:
            shot = self.call("Page.captureScreenshot", {"format": "png"})
        finally:
            self.call("Emulation.setDeviceMetricsOverride", self.viewport)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return path


def row(conflict_id):
    return "[data-testid=conflict-row][data-conflict-id=%s]" % json.dumps(conflict_id)


def sign_in(b, token):
    b.wait("!document.getElementById('signin-view').hidden", "the sign-in form")
    b.type("#token", token)
    b.click("#signin")


WINNER_MARKS = """(() => {
    // How the current (winning) value is drawn: no marks inside it, and nothing struck through or red.
    const v = document.querySelector('[data-testid=winner-value]');
    const all = [v, ...v.querySelectorAll('*')];
    return {marks: v.querySelectorAll('del, ins, mark, s, strike').length,
            struck: all.some(e => getComputedStyle(e).textDecorationLine.includes('line-through')),
            color: getComputedStyle(v).color};
})()"""

OTHER_MARKS = "document.querySelectorAll('[data-testid=compare] ins, [data-testid=compare] del, [data-testid=compare] mark').length"


def scenario_review(b, a, obs, shots):
    """English: a bad token, sign in, list, side-by-side view, take the other value (confirmed), audit, sign out."""
    b.navigate(a.url + "/admin/#/conflicts")
    obs["htmlLang"] = b.js("document.documentElement.lang")
    b.js("sessionStorage.clear()")
    sign_in(b, "not-a-valid-token")
    b.wait("!document.getElementById('signin-error').hidden", "the sign-in error for a bad token")
    obs["badTokenError"] = b.text("#signin-error")
    obs["badTokenStillSignIn"] = b.js("!document.getElementById('signin-view').hidden")
    sign_in(b, a.token)
    b.wait("!!document.querySelector(%s)" % json.dumps(row(a.conflict)), "conflict %s in the list" % a.conflict)
    obs["tokenInSessionStorage"] = b.js("sessionStorage.getItem('cpsync.adminToken') === %s" % json.dumps(a.token))
    obs["cookies"] = b.js("document.cookie")
    obs["listRows"] = b.js("""Array.from(document.querySelectorAll('[data-testid=conflict-row]')).map(r => ({
        id: r.getAttribute('data-conflict-id'),
        field: r.querySelector('[data-testid=conflict-field]').textContent,
        row: r.querySelector('[data-testid=conflict-row-label]').textContent,
        winner: (r.querySelector('[data-testid=list-winner-value]') || {}).textContent || null,
        other: (r.querySelector('[data-testid=list-other-value]') || {}).textContent || null,
        text: r.textContent }))""")
    obs["listSummary"] = b.text("#list-summary")
    obs["winsLegend"] = b.js("(() => { const e = document.getElementById('wins-legend'); return e.hidden ? null : e.textContent; })()")
    obs["winBadgeTitles"] = b.js("Array.from(document.querySelectorAll('[data-testid=win-badge]')).map(e => e.title)")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-list.png")))
    # The office filter offers the offices by name; an office with no conflict lists none, then all again.
    obs["officeChoices"] = b.js("Array.from(document.getElementById('filter-site').options).map(o => ({value: o.value, text: o.textContent}))")
    b.js("document.getElementById('filter-site').value = %s" % json.dumps(a.quiet_site))
    b.click("#filter-apply")
    b.wait("!document.querySelector(%s) && document.getElementById('list-summary').textContent !== 'Loading…'" % json.dumps(row(a.conflict)),
           "the list filtered to an office without conflicts")
    obs["quietOfficeSummary"] = b.text("#list-summary")
    obs["quietOfficeRows"] = b.js("document.querySelectorAll('[data-testid=conflict-row]').length")
    b.js("document.getElementById('filter-site').value = %s" % json.dumps(a.busy_site))
    b.click("#filter-apply")
    b.wait("!!document.querySelector(%s)" % json.dumps(row(a.conflict)), "the list filtered to an office with conflicts")
    obs["busyOfficeRows"] = b.js("document.querySelectorAll('[data-testid=conflict-row]').length")

    b.click(row(a.conflict) + " [data-testid=open-conflict]")
    b.wait("document.getElementById('detail').getAttribute('data-conflict-id') === %s && !!document.querySelector('[data-testid=compare]')"
           % json.dumps(a.conflict), "the side-by-side view")
    obs["detailTitle"] = b.text("[data-testid=detail-title]")
    obs["detailRow"] = b.text("[data-testid=row-label]")
    obs["winnerValue"] = b.text("[data-testid=winner-value]")
    obs["otherValue"] = b.text("[data-testid=other-value]")
    obs["winnerSite"] = b.text("[data-testid=winner-card-site]")
    obs["otherSite"] = b.text("[data-testid=other-card-site]")
    obs["deleted"] = b.texts("[data-testid=winner-value] del")
    obs["inserted"] = b.texts("[data-testid=other-value] ins")
    obs["winnerDrawn"] = b.js(WINNER_MARKS)
    obs["detailWinsLegend"] = b.text("[data-testid=wins-legend]")
    obs["diffLegend"] = b.text("[data-testid=diff-legend]")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-side-by-side.png")))

    # A type check before anything is sent, then cancel, then take the other value for real.
    b.click("#action-take-other")
    b.wait("!document.getElementById('confirm-panel').hidden", "the confirmation panel")
    b.click("#cancel")
    b.wait("document.getElementById('confirm-panel').hidden", "the confirmation panel to close")
    obs["stillOpenAfterCancel"] = b.js("document.getElementById('detail').getAttribute('data-status') === 'open'")
    b.click("#action-take-other")
    b.wait("!document.getElementById('confirm-panel').hidden", "the confirmation panel")
    obs["confirmSummary"] = b.text("#confirm-summary")
    b.type("#note", a.note)
    b.click("#confirm")
    b.wait("document.getElementById('detail').getAttribute('data-status') === 'resolved' && !!document.querySelector('[data-testid=resolution]')",
           "the conflict to show as resolved")
    obs["banner"] = b.text("#banner")
    obs["bannerKind"] = b.js("document.getElementById('banner').getAttribute('data-kind')")
    obs["resolution"] = b.text("[data-testid=resolution]")
    obs["detailVisibleText"] = b.js("document.getElementById('detail').innerText")
    obs["detailPk"] = b.text("[data-testid=detail-pk]")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-resolved.png")))
    b.resize(390, 844, True)
    obs["resolvedOverflow390"] = b.overflow()
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-resolved-390.png")))
    b.resize(1280, 900, False)

    if a.phone_conflict:
        # Phone numbers differ in a digit or two: both shown whole, nothing marked.
        b.js("location.hash = %s" % json.dumps("#/conflicts/" + a.phone_conflict))
        b.wait("document.getElementById('detail').getAttribute('data-conflict-id') === %s && !!document.querySelector('[data-testid=compare]')"
               % json.dumps(a.phone_conflict), "the phone conflict")
        obs["phoneWinner"] = b.text("[data-testid=winner-value]")
        obs["phoneOther"] = b.text("[data-testid=other-value]")
        obs["phoneMarks"] = b.js(OTHER_MARKS)
        obs["phoneDiffLegend"] = b.js("!!document.querySelector('[data-testid=diff-legend]')")
        shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-phone.png")))

    b.click("#nav-audit")
    b.wait("!!document.querySelector('[data-testid=audit-row][data-conflict-id=%s]')" % json.dumps(a.conflict), "the audit entry")
    obs["audit"] = b.texts("[data-testid=audit-row]")
    obs["auditRecords"] = b.texts("[data-testid=audit-row][data-conflict-id=%s] [data-testid=audit-record]" % json.dumps(a.conflict))
    obs["auditFields"] = b.texts("[data-testid=audit-row][data-conflict-id=%s] [data-testid=audit-field]" % json.dumps(a.conflict))

    # The resolved conflict in the list shows the decision (value, who, when, note), not the merge winner of the time.
    b.click("#nav-conflicts")
    b.wait("document.body.getAttribute('data-view') === 'list-view'", "the conflict list")
    b.js("document.getElementById('filter-status').value = 'all'")
    b.click("#filter-apply")
    b.wait("!!document.querySelector(%s + ' [data-testid=list-decision]')" % json.dumps(row(a.conflict)), "the resolved conflict's decision in the list")
    obs["resolvedRow"] = b.js("""(() => { const r = document.querySelector(%s); return {
        decision: r.querySelector('[data-testid=list-decision-value]').textContent,
        meta: r.querySelector('[data-testid=list-decision-meta]').textContent,
        note: (r.querySelector('[data-testid=list-decision-note]') || {}).textContent || null,
        winBadges: r.querySelectorAll('.badge.win').length, text: r.textContent }; })()""" % json.dumps(row(a.conflict)))
    b.resize(390, 844, True)
    obs["listOverflow390"] = b.overflow()
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-list-390.png")))
    b.js("location.hash = '#/audit'")
    b.wait("!!document.querySelector('[data-testid=audit-row]') && document.getElementById('accounts-summary').textContent !== ''", "the audit view")
    obs["auditOverflow390"] = b.overflow()
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-audit-390.png")))
    b.resize(1280, 900, False)

    b.click("#signout")
    b.wait("!document.getElementById('signin-view').hidden", "the sign-in form after signing out")
    obs["tokenAfterSignOut"] = b.js("sessionStorage.getItem('cpsync.adminToken')")


def scenario_xss(b, a, obs, shots):
    """Chinese: the list and the detail of a conflict whose row label is markup; it must show as text."""
    b.navigate(a.url + "/admin/#/conflicts")
    obs["htmlLang"] = b.js("document.documentElement.lang")
    obs["navigatorLanguage"] = b.js("navigator.language")
    b.js("sessionStorage.clear()")
    sign_in(b, a.token)
    b.wait("!!document.querySelector(%s)" % json.dumps(row(a.conflict)), "conflict %s in the list" % a.conflict)
    obs["title"] = b.text("#app-title")
    obs["headers"] = b.texts("#conflict-table th")
    obs["listRowLabels"] = b.texts("[data-testid=conflict-row-label]")
    obs["listFields"] = b.texts("[data-testid=conflict-field]")
    obs["listValues"] = b.texts("[data-testid=list-winner-value], [data-testid=list-other-value]")
    obs["winsLegend"] = b.js("(() => { const e = document.getElementById('wins-legend'); return e.hidden ? null : e.textContent; })()")
    obs["winBadgeTitles"] = b.js("Array.from(document.querySelectorAll('[data-testid=win-badge]')).map(e => e.title)")
    obs["officeChoices"] = b.texts("#filter-site option")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-list.png")))
    b.click(row(a.conflict) + " [data-testid=open-conflict]")
    b.wait("document.getElementById('detail').getAttribute('data-conflict-id') === %s" % json.dumps(a.conflict), "the side-by-side view")
    obs["detailRow"] = b.text("[data-testid=row-label]")
    obs["winnerValue"] = b.text("[data-testid=winner-value]")
    obs["otherValue"] = b.text("[data-testid=other-value]")
    obs["actionLabels"] = b.texts("[data-testid=actions] button")
    obs["winnerDrawn"] = b.js(WINNER_MARKS)
    obs["detailWinsLegend"] = b.text("[data-testid=wins-legend]")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-side-by-side.png")))
    time.sleep(0.3)  # give a stray onerror handler time to fire, if the markup had been parsed
    obs["imgElements"] = b.js("document.querySelectorAll('img').length")
    obs["scriptElements"] = b.js("Array.from(document.scripts).map(s => s.getAttribute('src'))")


def scenario_accounts(b, a, obs, shots):
    """The audit page's section on sites, tokens and admins (the newest change first), in the browser's language."""
    b.navigate(a.url + "/admin/#/audit")
    obs["htmlLang"] = b.js("document.documentElement.lang")
    b.js("sessionStorage.clear()")
    sign_in(b, a.token)
    b.wait("!!document.querySelector('[data-testid=accounts-row]')", "the account audit rows")
    obs["accountsTitle"] = b.text("[data-i18n=accountsTitle]")
    obs["accountsHeaders"] = b.texts("[data-testid=accounts-table] th")
    obs["accountsSummary"] = b.text("#accounts-summary")
    obs["accountsActions"] = b.js("Array.from(document.querySelectorAll('[data-testid=accounts-row]')).map(e => e.getAttribute('data-action'))")
    obs["accountsRows"] = b.js("Array.from(document.querySelectorAll('[data-testid=accounts-row]')).map(r => Array.from(r.cells).map(c => c.textContent))")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-accounts.png")))


def scenario_files(b, a, obs, shots):
    """The attachments view: a record's files with their sizes, an image previewed, a file downloaded (its bytes read
    back in the page and hashed, so the check is of the bytes)."""
    b.navigate(a.url + "/admin/#/attachments")
    b.js("sessionStorage.clear()")
    sign_in(b, a.token)
    b.wait("!!document.querySelector('[data-testid=file-row]')", "the attachment rows")
    obs["filesTitle"] = b.text("[data-i18n=filesTitle]")
    obs["filesSummary"] = b.text("#files-summary")
    obs["files"] = b.js("""Array.from(document.querySelectorAll('[data-testid=file-row]')).map(r => ({
        sha256: r.getAttribute('data-sha256'), name: r.querySelector('[data-testid=file-name]').textContent,
        size: r.querySelector('[data-testid=file-size]').textContent, cells: Array.from(r.cells).map(c => c.textContent) }))""")
    b.click("[data-testid=file-show]")
    b.wait("(() => { const i = document.querySelector('[data-testid=file-image]'); return !!i && i.complete && i.naturalWidth > 0; })()",
           "the previewed image")
    obs["imageWidth"] = b.js("document.querySelector('[data-testid=file-image]').naturalWidth")
    # The download's bytes, fetched by the page's own function through the same path the button takes.
    obs["downloadSha256"] = b.js("""(async () => {
        const r = document.querySelector('[data-testid=file-row]');
        const res = await fetch('/v1/blobs/' + r.getAttribute('data-sha256'), { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('cpsync.adminToken'), Range: 'bytes=0-4194303' } });
        const buf = await res.arrayBuffer();
        const d = await crypto.subtle.digest('SHA-256', buf);
        return Array.from(new Uint8Array(d)).map(x => x.toString(16).padStart(2, '0')).join('');
    })()""")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-files.png")))


SITE_ROWS = """Array.from(document.querySelectorAll('[data-testid=site-row]')).map(r => ({
    id: r.getAttribute('data-site-id'), token: r.getAttribute('data-token'), attention: r.getAttribute('data-attention'),
    name: r.querySelector('[data-testid=site-name]').textContent,
    push: r.querySelector('[data-testid=site-push]').textContent, pull: r.querySelector('[data-testid=site-pull]').textContent,
    pending: r.querySelector('[data-testid=site-pending]').textContent, held: r.querySelector('[data-testid=site-held]').textContent,
    tokenText: r.querySelector('[data-testid=site-token]').textContent }))"""


LATIN_TEXT = """(() => {
    // Visible page text with Latin letters, outside data (site ids, tokens, admin names, server messages) and the
    // command names a hint has to quote.
    const skip = '.site-id, code, details.technical, [data-testid=admin-row] td:first-child, select, script, noscript, .foot';
    const allowed = /\\b(cpsyncd|cpsync|init|token|admin|add|revoke|name|HTTP)\\b/g;
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      const e = n.parentElement;
      if (!e || e.closest(skip) || e.closest('[hidden]') || e.offsetParent === null) continue;
      const t = n.textContent.replace(allowed, '').replace(/a\u2013z/g, '');  // the id's letters a–z
      if (/[A-Za-z]/.test(t)) out.push(n.textContent.trim());
    }
    return out;
})()"""


def scenario_dashboard(b, a, obs, shots):
    """The sync dashboard at 1280 and 390 px (no horizontal overflow), the other views at 390 px, managing sites
    (add one under a parent once a kind is chosen, its token shown once and copied; a placement the tree refuses;
    revoke; a site's kind corrected), and signing out."""
    b.call("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"], "origin": a.url}, session=False)
    b.call("Emulation.setFocusEmulationEnabled", {"enabled": True})
    b.navigate(a.url + "/admin/")
    obs["htmlLang"] = b.js("document.documentElement.lang")
    b.js("sessionStorage.clear()")
    sign_in(b, a.token)
    b.wait("document.getElementById('sites-rows').getAttribute('data-loaded') === 'true'", "the dashboard rows")
    obs["view"] = b.js("document.body.getAttribute('data-view')")
    obs["tokenInSessionStorage"] = b.js("sessionStorage.getItem('cpsync.adminToken') === %s" % json.dumps(a.token))
    obs["localStorageLength"] = b.js("localStorage.length")
    obs["nav"] = b.texts("#nav a, #nav button")
    obs["headers"] = b.texts("#sites-table th")
    obs["summary"] = b.text("#sites-summary")
    obs["rows"] = b.js(SITE_ROWS)
    obs["overflow1280"] = b.overflow()
    obs["latinDashboard"] = b.js(LATIN_TEXT)
    obs["dashboardText"] = b.js("document.getElementById('sites-view').innerText")
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-dashboard-1280.png")))

    b.resize(390, 844, True)
    obs["rows390"] = b.js("document.querySelectorAll('[data-testid=site-row]').length")
    obs["cellLabels390"] = b.js("Array.from(document.querySelectorAll('[data-testid=site-row]')[0].cells).map(c => getComputedStyle(c, '::before').content)")
    obs["overflow390"] = b.overflow()
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-dashboard-390.png")))
    views = {}
    done = "((id) => { const t = document.getElementById(id).textContent; return t !== '' && !t.includes('\u2026'); })"
    for name, hash_, ready in [("accounts", "#/accounts", "document.getElementById('manage-rows').getAttribute('data-loaded') === 'true'"),
                               ("conflicts", "#/conflicts", "document.body.getAttribute('data-view') === 'list-view' && %s('list-summary')" % done),
                               ("audit", "#/audit", "document.body.getAttribute('data-view') === 'audit-view' && %s('accounts-summary')" % done)]:
        b.js("location.hash = %s" % json.dumps(hash_))
        b.wait(ready, "the %s view" % name)
        views[name] = b.overflow()
        if name == "accounts":
            shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-accounts-390.png")))
    obs["overflow390Views"] = views

    b.resize(1280, 900, False)
    b.js("location.hash = '#/accounts'")
    b.wait("document.getElementById('manage-rows').getAttribute('data-loaded') === 'true'", "the site management table")
    obs["manageRows"] = b.js("Array.from(document.querySelectorAll('[data-testid=manage-row]')).map(r => r.getAttribute('data-site-id'))")
    obs["kindChoices"] = b.js("""Object.fromEntries(Array.from(document.querySelectorAll('[data-testid=manage-row]')).map(r => {
        const s = r.querySelector('[data-testid=kind-select]');
        return [r.getAttribute('data-site-id'), s ? Array.from(s.options).map(o => o.value) : null]; }))""")
    # The kind is chosen, not defaulted: nothing is sent until it is.
    obs["addKindDefault"] = b.js("document.getElementById('add-kind').value")
    b.type("#add-name", a.new_name)
    b.type("#add-id", a.new_id)
    b.click("#add-submit")
    b.wait("!document.getElementById('add-error').hidden", "the missing-kind error")
    obs["kindMissingError"] = b.text("#add-error")
    # A township under a station is refused before anything is sent.
    b.js("document.getElementById('add-kind').value = 'township'; document.getElementById('add-parent').value = %s" % json.dumps(a.station))
    b.click("#add-submit")
    b.wait("!document.getElementById('add-error').hidden", "the placement error")
    obs["placementError"] = b.text("#add-error")
    b.js("document.getElementById('add-kind').value = 'station'; document.getElementById('add-parent').value = %s" % json.dumps(a.parent))
    b.click("#add-submit")
    b.wait("!document.getElementById('token-box').hidden && !!document.querySelector('[data-testid=manage-row][data-site-id=%s]')" % json.dumps(a.new_id),
           "the new site and its token")
    obs["newToken"] = b.text("#token-value")
    obs["tokenBoxText"] = b.text("#token-box-text")
    obs["newRowToken"] = b.js("document.querySelector('[data-testid=manage-row][data-site-id=%s]').getAttribute('data-token')" % json.dumps(a.new_id))
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-accounts-1280.png")))
    # Copy: with the Clipboard API (loopback is a secure context), then as on plain http in an intranet (no API:
    # the selection is copied).
    obs["copyLabel"] = b.text("#token-copy")
    b.click("#token-copy")
    b.wait("!document.getElementById('token-copied').hidden", "the copy confirmation")
    obs["copyNote"] = b.text("#token-copied")
    obs["copyOk"] = b.js("document.getElementById('token-copied').getAttribute('data-ok')")
    obs["clipboard"] = b.js("navigator.clipboard.readText()")
    b.js("""(async () => { window.cpsyncClipboard = navigator.clipboard; await navigator.clipboard.writeText('');
        Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true});
        document.getElementById('token-copied').hidden = true; })()""")
    b.click("#token-copy")
    b.wait("!document.getElementById('token-copied').hidden", "the copy confirmation without the Clipboard API")
    obs["copyFallbackOk"] = b.js("document.getElementById('token-copied').getAttribute('data-ok')")
    obs["clipboardFallback"] = b.js("window.cpsyncClipboard.readText()")
    b.click("#token-box-close")
    b.click("[data-testid=manage-row][data-site-id=%s] [data-testid=revoke-token]" % json.dumps(a.new_id))
    b.wait("!document.getElementById('manage-confirm').hidden", "the revoke confirmation")
    obs["revokeQuestion"] = b.text("#manage-confirm-text")
    b.click("#manage-confirm-yes")
    b.wait("document.querySelector('[data-testid=manage-row][data-site-id=%s]').getAttribute('data-token') === 'revoked'" % json.dumps(a.new_id),
           "the new site's token to show as revoked")
    obs["revokeBanner"] = b.text("#banner")
    obs["tokenBoxAfter"] = b.text("#token-value")
    # A site's kind corrected: confirmed, sent, shown.
    kind_row = "[data-testid=manage-row][data-site-id=%s]" % json.dumps(a.kind_site)
    b.js("document.querySelector(%s).value = %s" % (json.dumps(kind_row + " [data-testid=kind-select]"), json.dumps(a.kind_to)))
    b.click(kind_row + " [data-testid=change-kind]")
    b.wait("!document.getElementById('manage-confirm').hidden", "the kind confirmation")
    obs["kindQuestion"] = b.text("#manage-confirm-text")
    b.click("#manage-confirm-yes")
    b.wait("document.querySelector(%s).getAttribute('data-kind') === %s" % (json.dumps(kind_row), json.dumps(a.kind_to)), "the new kind")
    obs["kindBanner"] = b.text("#banner")
    obs["latinAccounts"] = b.js(LATIN_TEXT)

    b.click("#signout")
    b.wait("!document.getElementById('signin-view').hidden", "the sign-in form after signing out")
    obs["tokenAfterSignOut"] = b.js("sessionStorage.getItem('cpsync.adminToken')")


ADMIN_ROWS = """Array.from(document.querySelectorAll('[data-testid=admin-row]')).map(r => ({
    name: r.getAttribute('data-admin'), revoked: r.getAttribute('data-revoked'), text: r.innerText,
    you: !!r.querySelector('.you'), label: r.cells[3] ? getComputedStyle(r.cells[3], '::before').content : null }))"""


def admin_row(name):
    return "[data-testid=admin-row][data-admin=%s]" % json.dumps(name, ensure_ascii=False)  # CSS reads \\u escapes otherwise


def scenario_admins(b, a, obs, shots):
    """On a 390 px phone screen: add an admin (the token shown once), a duplicate refused before anything is sent,
    revoke the new admin (confirmed), then try to revoke oneself as the last active admin (the server refuses); no
    horizontal overflow at any step."""
    b.resize(390, 844, True)
    b.navigate(a.url + "/admin/#/accounts")
    obs["htmlLang"] = b.js("document.documentElement.lang")
    b.js("sessionStorage.clear()")
    sign_in(b, a.token)
    b.wait("document.getElementById('manage-rows').getAttribute('data-loaded') === 'true' && !!document.querySelector('.you')",
           "the site and admin tables")
    obs["adminsBefore"] = b.js(ADMIN_ROWS)
    obs["adminHeaders"] = b.texts("#admins-table th")
    obs["overflowBefore"] = b.overflow()

    b.type("#add-admin-name", a.new_admin)
    b.click("#add-admin-submit")
    b.wait("!document.getElementById('token-box').hidden && !!document.querySelector(%s)" % json.dumps(admin_row(a.new_admin)),
           "the new admin and their token")
    obs["newAdminToken"] = b.text("#token-value")
    obs["adminTokenBoxText"] = b.text("#token-box-text")
    obs["adminTokenOnce"] = b.text("#token-once")
    obs["adminsAfterAdd"] = b.js(ADMIN_ROWS)
    obs["overflowAfterAdd"] = b.overflow()
    obs["latinAfterAdd"] = b.js(LATIN_TEXT)
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-admins-390.png")))

    # The same name again: refused on the page, nothing sent.
    b.type("#add-admin-name", a.new_admin)
    b.click("#add-admin-submit")
    b.wait("!document.getElementById('add-admin-error').hidden", "the duplicate-name error")
    obs["duplicateError"] = b.text("#add-admin-error")

    b.click("#token-box-close")
    b.click(admin_row(a.new_admin) + " [data-testid=admin-revoke]")
    b.wait("!document.getElementById('manage-confirm').hidden", "the revoke confirmation")
    obs["revokeAdminQuestion"] = b.text("#manage-confirm-text")
    b.click("#manage-confirm-yes")
    b.wait("document.querySelector(%s).getAttribute('data-revoked') === 'true'" % json.dumps(admin_row(a.new_admin)),
           "the new admin to show as revoked")
    obs["revokeAdminBanner"] = b.text("#banner")
    obs["tokenAfterRevoke"] = b.text("#token-value")

    # Now the signed-in admin is the last active one: revoking oneself is refused at once (no confirmation asked),
    # and one stays signed in.
    b.click("tr:has(.you) [data-testid=admin-revoke]")
    b.wait("document.getElementById('banner').getAttribute('data-kind') === 'error'", "the last-admin refusal")
    obs["confirmShown"] = b.js("!document.getElementById('manage-confirm').hidden")
    obs["lastAdminBanner"] = b.text("#banner")
    obs["viewAfterRefusal"] = b.js("document.body.getAttribute('data-view')")
    obs["adminsAfterRefusal"] = b.js(ADMIN_ROWS)
    obs["overflowAfterRefusal"] = b.overflow()
    shots.append(b.screenshot(os.path.join(a.out, a.prefix + "-admins-refused-390.png")))

    # A new token for oneself: shown once, and the page goes on with it (the old one stops at once).
    b.click("tr:has(.you) [data-testid=admin-issue-token]")
    b.wait("!document.getElementById('manage-confirm').hidden", "the new-token confirmation")
    obs["selfTokenQuestion"] = b.text("#manage-confirm-text")
    b.click("#manage-confirm-yes")
    b.wait("!document.getElementById('token-box').hidden && document.getElementById('manage-rows').getAttribute('data-loaded') === 'true'",
           "one's own new token and the reloaded tables")
    obs["selfNewToken"] = b.text("#token-value")
    obs["sessionHasNewToken"] = b.js("sessionStorage.getItem('cpsync.adminToken') === document.getElementById('token-value').textContent")
    obs["viewAfterSelfToken"] = b.js("document.body.getAttribute('data-view')")

    b.click("#signout")
    b.wait("!document.getElementById('signin-view').hidden", "the sign-in form after signing out")


def scenario_parse(b, a, obs, shots):
    """Compiles a script file without running it (the JS syntax check when node is not installed): V8's own parser,
    as the page will meet it."""
    with open(a.js, encoding="utf-8") as f:
        source = f.read()
    r = b.call("Runtime.compileScript", {"expression": source, "sourceURL": os.path.basename(a.js), "persistScript": False})
    d = r.get("exceptionDetails")
    obs["syntaxError"] = None if d is None else "%s:%s:%s %s" % (
        os.path.basename(a.js), d.get("lineNumber", 0) + 1, d.get("columnNumber", 0) + 1,
        d.get("exception", {}).get("description") or d.get("text", ""))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--conflict", required=True)
    p.add_argument("--scenario", choices=["review", "xss", "accounts", "dashboard", "admins", "parse", "files"], required=True)
    p.add_argument("--js", help="the script the parse scenario compiles")
    p.add_argument("--new-admin", default="李科长")
    p.add_argument("--new-id", default="xinjian")
    p.add_argument("--new-name", default="新建社区联络站")
    p.add_argument("--parent", default="huashan")
    p.add_argument("--station", default="xiyuan")
    p.add_argument("--kind-site", default="dongling", help="dashboard: the site whose kind is corrected")
    p.add_argument("--kind-to", default="township")
    p.add_argument("--phone-conflict", default=None, help="review: a conflict between two phone numbers")
    p.add_argument("--quiet-site", default="county", help="review: an office without conflicts, for the filter")
    p.add_argument("--busy-site", default="huashan", help="review: an office with conflicts")
    p.add_argument("--lang", default="en-US")
    p.add_argument("--out", required=True)
    p.add_argument("--prefix", default="admin")
    p.add_argument("--note", default="checked with the township office")
    p.add_argument("--timeout", type=float, default=15)
    p.add_argument("--overall", type=float, default=75)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)

    result = {"ok": False, "error": None, "observations": {}, "dialogs": [], "problems": [], "screenshots": []}
    b = Browser(a.lang, a.timeout)

    def on_signal(signum, frame):
        raise CheckFailed("stopped by signal %d (overall limit %.0f s)" % (signum, a.overall))

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(s, on_signal)
    signal.setitimer(signal.ITIMER_REAL, a.overall)
    status = 1
    try:
        b.start()
        result["browser"] = b.version
        {"review": scenario_review, "xss": scenario_xss, "accounts": scenario_accounts, "dashboard": scenario_dashboard,
         "admins": scenario_admins, "parse": scenario_parse, "files": scenario_files}[a.scenario](
            b, a, result["observations"], result["screenshots"])
        result["ok"] = True
        status = 0
    except Unavailable as e:
        result["error"] = str(e)
        status = BROWSER_UNAVAILABLE
    except Exception as e:  # report any failure as JSON; the Swift test shows it
        result["error"] = "%s: %s" % (type(e).__name__, e)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            if b.session:
                result["screenshots"].append(b.screenshot(os.path.join(a.out, a.prefix + "-failure.png")))
        except Exception:
            pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        result["dialogs"] = b.dialogs
        result["problems"] = b.problems
        b.stop()
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
