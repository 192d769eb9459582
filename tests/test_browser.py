"""The page at GET /, in a real headless browser: Debian's chromium driven by selenium
through chromium-driver.

Skipped only when chromium, chromedriver or selenium is missing and CI is not set; under
CI (where .ci/install-browser.sh installs them) a missing piece fails the run.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from service_support import ARTICLE, PAGE, ROOT, model_for_tests, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _missing() -> list:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    return missing


@pytest.fixture(scope="module")
def browser_available():
    missing = _missing()
    if missing and not os.environ.get("CI"):
        pytest.skip(f"no headless browser here ({', '.join(missing)} missing); .ci/install-browser.sh installs it")
    assert not missing, f"CI is set but {', '.join(missing)} is missing: run .ci/install-browser.sh"


@pytest.fixture(scope="module")
def server(browser_available, tmp_path_factory):
    """The app on a free loopback port, in a thread of this process; yields its base URL."""
    from newstag.service import create_app

    model = model_for_tests(tmp_path_factory.mktemp("service-model"))
    app = create_app({"NEWSTAG_MODEL": str(model), "NEWSTAG_RELOAD_INTERVAL": 0})
    with serving(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def driver(browser_available):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="newstag-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", "--window-size=1200,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def submit(driver, base, text, mode="article"):
    """Open the page, paste ``text``, choose ``mode``, press Tag and wait for the answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + "/")
    area = driver.find_element(By.ID, "text")
    area.click()
    driver.execute_script("arguments[0].value = arguments[1];", area, text)  # a paste
    driver.find_element(By.CSS_SELECTOR, f"input[name=mode][value={mode}]").click()
    driver.find_element(By.ID, "submit").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "results").get_attribute("data-done"))


def test_article_shows_topics_score_bars_and_highlighted_evidence(driver, server):
    from selenium.webdriver.common.by import By

    base, app = server
    expected = app.extensions["newstag"].model.tag_article(ARTICLE)
    submit(driver, base, ARTICLE)
    cards = driver.find_elements(By.CSS_SELECTOR, "#results article.result")
    assert len(cards) == 1
    card = cards[0]
    assert card.find_element(By.TAG_NAME, "h2").text == "首府供热管网改造进入收尾阶段"
    assert [e.get_attribute("data-topic") for e in card.find_elements(By.CSS_SELECTOR, ".labels .label")] == expected["labels"]
    assert card.find_element(By.CSS_SELECTOR, ".labels .label").text == "供热"
    bars = {e.get_attribute("data-topic"): e for e in card.find_elements(By.CSS_SELECTOR, ".bar")}
    assert set(bars) == set(expected["scores"])
    track = card.find_element(By.CSS_SELECTOR, ".track").size["width"]
    for topic, score in expected["scores"].items():
        assert abs(bars[topic].size["width"] - score * track) <= 2, topic
    highlighted = card.find_elements(By.CSS_SELECTOR, ".text p.evidence")
    assert highlighted and all(p.get_attribute("data-topic") == "heating" for p in highlighted)
    marks = {m.text for m in card.find_elements(By.CSS_SELECTOR, "mark.term")}
    terms = {t["term"].replace(" ", "") for t in expected["evidence"]["heating"]["terms"]}
    assert marks and marks <= terms
    status = driver.find_element(By.ID, "status").text
    assert "Tagged 1 article" in status and app.extensions["newstag"].version in status


def test_page_is_split_into_tagged_articles(driver, server):
    from selenium.webdriver.common.by import By

    from newstag.model.tagging import tag_page

    base, app = server
    page = PAGE.read_text(encoding="utf-8")
    records = tag_page(app.extensions["newstag"].model, page)
    submit(driver, base, page, mode="page")
    cards = driver.find_elements(By.CSS_SELECTOR, "#results article.result")
    assert len(cards) == len(records) > 1
    for card, record in zip(cards, records):
        assert card.find_element(By.TAG_NAME, "h2").text.startswith(record["title"] or "(untitled)")
        shown = [e.get_attribute("data-topic") for e in card.find_elements(By.CSS_SELECTOR, ".labels .label")]
        assert shown == record["labels"] or (shown == [None] and record["labels"] == [])
    assert driver.find_elements(By.CSS_SELECTOR, "#results .text p.evidence")


def test_error_from_the_service_is_shown(driver, server, monkeypatch):
    from selenium.webdriver.common.by import By

    base, app = server
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 200)
    submit(driver, base, ARTICLE * 3)
    error = driver.find_element(By.ID, "error")
    assert error.is_displayed() and "Error 413" in error.text and "limit of 200 bytes" in error.text
    assert not driver.find_elements(By.CSS_SELECTOR, "#results article.result")


def test_page_fetches_nothing_from_elsewhere_and_logs_no_error(driver, server):
    base, _ = server
    driver.get_log("browser")  # drop what earlier tests left
    submit(driver, base, ARTICLE)
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    assert urls and all(u.startswith(base + "/") for u in urls), urls
    problems = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert problems == [], json.dumps(problems, ensure_ascii=False)
