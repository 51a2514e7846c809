#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# The web view in a real browser (headless Chromium through chromium-driver and Selenium), for
# test/e2e/0901-web-ui.sh and for screenshots. Uses Debian's chromium, chromium-driver and
# python3-selenium (make deps); nothing is fetched from the network.
#
#   ui-browser.py shot URL PNG [WIDTHxHEIGHT]   open URL, wait for the live state, save PNG
#   ui-browser.py scenario                      the e2e scenario, settings in the environment:
#       UI_URL           the page (http://127.0.0.(10+BASE+1):49153/ui/)
#       UI_MACHINES      "ID=NAME ..." of the cluster's machines (NAME as fleet-cluster knows it)
#       UI_PAGE_MACHINE  the ID of the machine serving UI_URL (never crashed)
#       UI_RUNNING       a unit already running when the page opens
#       UI_START_CMD     starts UI_NEW_UNIT with fleetctl (run by this script)
#       UI_NEW_UNIT      the unit it starts
#       UI_KILL_CMD      crashes a machine: the machine's NAME is appended
#       UI_SCREENSHOT    where to save the screenshot (a phone-sized one goes next to it)
#       UI_ETCD_PAUSE_CMD, UI_ETCD_RESUME_CMD   make etcd unreachable and reachable again
# The scenario prints "PASS <what>", "FAIL <what>" and "DIAG <text>" lines for the TAP script.
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def say(kind, text):
    for i, line in enumerate(str(text).splitlines() or [""]):
        print(("DIAG" if i else kind) + " " + line, flush=True)


def browser(profile, width=1400, height=1000):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--no-default-browser-check", "--disable-extensions",
              "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--metrics-recording-only", "--hide-scrollbars",
              "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height)):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def wait(timeout, fn):
    """fn() until it returns something true (returned) or timeout seconds pass (None)."""
    end = time.monotonic() + timeout
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception:  # the DOM is re-rendered under our feet: try again
            pass
        if time.monotonic() >= end:
            return None
        time.sleep(0.05)


def rows(d, table):
    return d.find_elements(By.CSS_SELECTOR, "#%s tbody tr" % table)


def unit_row(d, name):
    """{machine, current, active, sub} of the unit's (first) row, or None."""
    for r in rows(d, "units"):
        if r.get_attribute("data-unit") == name:
            return {
                "machine": r.get_attribute("data-machine"),
                "current": r.find_element(By.CSS_SELECTOR, ".col-current").text,
                "active": r.find_element(By.CSS_SELECTOR, ".col-active").text,
                "sub": r.find_element(By.CSS_SELECTOR, ".col-sub").text,
            }
    return None


def live(d):
    return d.find_element(By.ID, "live").get_attribute("data-state") == "live"


def full_height(d, width):
    """Resize the window so that the whole page fits in the viewport (for a screenshot)."""
    for _ in range(2):  # the width changes the layout, the window's frame the viewport
        h = d.execute_script("return document.documentElement.scrollHeight")
        frame = d.execute_script("return window.outerHeight - window.innerHeight")
        d.set_window_size(width, max(600, min(int(h) + int(frame), 6000)))
        time.sleep(0.2)


def shot(url, png, size="1400x1000"):
    w, h = (int(x) for x in size.split("x"))
    profile = tempfile.mkdtemp(prefix="fleet-ui-chromium-")
    d = None
    try:
        d = browser(profile, w, h)
        d.get(url)
        if not wait(10, lambda: live(d) and rows(d, "machines")):
            print("ui-browser: the page did not show a live state in 10 s", file=sys.stderr)
            return 1
        time.sleep(0.3)
        full_height(d, w)
        d.save_screenshot(png)
        return 0
    finally:
        if d:
            d.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Scenario:
    def __init__(self):
        env = os.environ
        self.url = env["UI_URL"]
        self.names = dict(p.split("=", 1) for p in env["UI_MACHINES"].split())
        self.page_machine = env["UI_PAGE_MACHINE"]
        self.running = env["UI_RUNNING"]
        self.start_cmd = env["UI_START_CMD"]
        self.new_unit = env["UI_NEW_UNIT"]
        self.kill_cmd = env["UI_KILL_CMD"]
        self.png = env["UI_SCREENSHOT"]
        self.pause_cmd = env.get("UI_ETCD_PAUSE_CMD")
        self.resume_cmd = env.get("UI_ETCD_RESUME_CMD")
        self.failed = 0

    def check(self, ok, what):
        say("PASS" if ok else "FAIL", what)
        self.failed += 0 if ok else 1
        return ok

    def not_reloaded(self, d):
        return d.execute_script("return window.__fleetTestMark === 42") is True

    def run(self, d):
        d.get(self.url)
        ok = wait(10, lambda: live(d) and len(rows(d, "machines")) == len(self.names))
        self.check(ok, "the page shows the %d machines, live" % len(self.names))
        ids = sorted(r.get_attribute("data-machine") for r in rows(d, "machines"))
        self.check(ids == sorted(self.names), "their IDs are the cluster's machine IDs")
        leaders = d.find_elements(By.CSS_SELECTOR, "#machines .pill-leader")
        self.check(len(leaders) == 1 and leaders[0].text == "engine leader",
                   "one machine is marked engine leader")
        u = wait(10, lambda: (lambda r: r if r and r["active"] == "active" else None)(
            unit_row(d, self.running)))
        self.check(u is not None and u["current"] == "launched" and u["sub"] == "running",
                   "%s shown launched, active, running: %s" % (self.running, u))
        pill = d.find_elements(By.CSS_SELECTOR, '#units tr[data-unit="%s"] .col-active .pill-ok'
                               % self.running)
        self.check(len(pill) == 1, "its state is in words and in colour (pill-ok)")
        link = d.find_element(By.CSS_SELECTOR, '#units tr[data-unit="%s"] .col-name a'
                              % self.running)
        self.check(link.get_attribute("href").endswith("/ui/units/" + self.running),
                   "a link to its unit text")

        # live: a unit started now appears without a reload, within 2 s
        d.execute_script("window.__fleetTestMark = 42")
        t0 = time.monotonic()  # the 2 s count from the start of fleetctl
        out = subprocess.run(self.start_cmd, shell=True, capture_output=True, text=True)
        say("DIAG", "%s: exit %d %s" % (self.start_cmd, out.returncode, out.stdout + out.stderr))
        seen = wait(max(0.0, 2 - (time.monotonic() - t0)), lambda: unit_row(d, self.new_unit))
        self.check(seen is not None, "%s appears within 2 s of fleetctl start (%.0f ms)"
                   % (self.new_unit, (time.monotonic() - t0) * 1000))
        r = wait(15, lambda: (lambda r: r if r and r["active"] == "active" else None)(
            unit_row(d, self.new_unit)))
        self.check(r is not None, "%s becomes active on the page: %s" % (self.new_unit, r))
        self.check(self.not_reloaded(d), "without a reload of the page")

        # filter box: only the matching units remain
        f = d.find_element(By.ID, "filter")
        f.send_keys(self.new_unit)
        names = wait(2, lambda: [x.get_attribute("data-unit") for x in rows(d, "units")]
                     if len(rows(d, "units")) == 1 else None)
        self.check(names == [self.new_unit], "the filter box leaves only %s" % self.new_unit)
        f.clear()
        f.send_keys(" ")
        f.clear()
        d.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")
        wait(2, lambda: len(rows(d, "units")) >= 2)

        # sortable: a click on the Unit header reverses the order
        before = [x.get_attribute("data-unit") for x in rows(d, "units")]
        d.find_element(By.CSS_SELECTOR, '#units th[data-key="name"]').click()
        after = wait(2, lambda: (lambda a: a if a != before else None)(
            [x.get_attribute("data-unit") for x in rows(d, "units")]))
        self.check(after == sorted(before, reverse=True), "a click on Unit sorts by name, "
                   "descending: %s" % after)
        d.find_element(By.CSS_SELECTOR, '#units th[data-key="name"]').click()

        # a machine crashes: the unit on it moves, the page follows
        victim = None
        for name in (self.running, self.new_unit):
            row = unit_row(d, name)
            if row and row["machine"] and row["machine"] != self.page_machine:
                victim = (name, row["machine"])
                break
        if not self.check(victim is not None, "a unit runs on a machine other than the page's"):
            return
        unit, mid = victim
        out = subprocess.run(self.kill_cmd + " " + shlex.quote(self.names[mid]), shell=True,
                             capture_output=True, text=True)
        say("DIAG", "crashed %s (%s) running %s: %s" % (self.names[mid], mid[:8], unit,
                                                         (out.stdout + out.stderr).strip()))
        t0 = time.monotonic()
        gone = wait(30, lambda: len(rows(d, "machines")) == len(self.names) - 1)
        self.check(gone, "the crashed machine leaves the machines table")
        moved = wait(40, lambda: (lambda r: r if r and r["machine"] not in (None, mid)
                                  and r["active"] == "active" else None)(unit_row(d, unit)))
        self.check(moved is not None, "%s shown active on another machine (%s) after %.1f s"
                   % (unit, moved and self.names.get(moved["machine"]),
                      time.monotonic() - t0))
        ev = wait(5, lambda: [e.text for e in d.find_elements(By.CSS_SELECTOR,
                                                              "#events li[data-type=moved]")
                              if unit in e.text])
        self.check(bool(ev), "recent events: %s" % (ev[0].replace("\n", " ") if ev else "no 'moved' event"))
        self.check(self.not_reloaded(d), "all of it without a reload")
        full_height(d, 1400)
        d.save_screenshot(self.png)
        say("DIAG", "screenshot: " + self.png)
        d.set_window_size(390, 844)
        time.sleep(0.3)
        full_height(d, 390)
        phone = self.png.replace(".png", "-phone.png")
        d.save_screenshot(phone)
        say("DIAG", "screenshot: " + phone)
        d.set_window_size(1400, 1000)
        if self.pause_cmd and self.resume_cmd:
            self.etcd_outage(d)

    def etcd_outage(self, d):
        """etcd unreachable: the page says so and keeps the last state; then live again."""
        before = [x.get_attribute("data-unit") for x in rows(d, "units")]
        subprocess.run(self.pause_cmd, shell=True)
        t0 = time.monotonic()
        try:
            banner = wait(30, lambda: (lambda b: b.text if b.is_displayed() and "etcd" in b.text
                                       else None)(d.find_element(By.ID, "banner")))
            self.check(banner is not None, "etcd unreachable: the banner says so after %.1f s: %s"
                       % (time.monotonic() - t0, banner))
            self.check(d.find_element(By.ID, "live").get_attribute("data-state") == "stale",
                       "the status shows etcd unreachable")
            after = [x.get_attribute("data-unit") for x in rows(d, "units")]
            self.check(after == before and len(after) > 0,
                       "the last state stays on the page: %s" % after)
            full_height(d, 1400)
            outage = self.png.replace(".png", "-etcd-down.png")
            d.save_screenshot(outage)
            say("DIAG", "screenshot: " + outage)
        finally:
            subprocess.run(self.resume_cmd, shell=True)
        back = wait(40, lambda: live(d) and not d.find_element(By.ID, "banner").is_displayed())
        self.check(back, "etcd back: the page is live again, without the banner")
        self.check(self.not_reloaded(d), "still without a reload")


def scenario():
    s = Scenario()
    profile = tempfile.mkdtemp(prefix="fleet-ui-chromium-")
    d = None
    try:
        d = browser(profile)
        s.run(d)
    except Exception as e:  # a browser that does not start, a page that breaks
        s.check(False, "the browser scenario ran to its end: %r" % e)
    finally:
        if d:
            d.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if s.failed else 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "shot":
        sys.exit(shot(*sys.argv[2:5]))
    if len(sys.argv) == 2 and sys.argv[1] == "scenario":
        sys.exit(scenario())
    print(__doc__ if __doc__ else "usage: ui-browser.py shot URL PNG [WxH] | scenario",
          file=sys.stderr)
    sys.exit(2)
