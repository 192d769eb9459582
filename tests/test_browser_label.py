"""The labelling page /label in a real headless browser (chromium through selenium, as
tests/test_browser.py drives the main page; skipped the same way when it is missing):
name and token typed once, then keys only."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from service_support import ROOT, model_for_tests, serving
from test_browser import browser_available, driver  # noqa: F401 - the same browser fixtures
from test_label import TOKEN, suggestion, write_suggestions

NAME = "王编辑"


@pytest.fixture(scope="module")
def server(browser_available, tmp_path_factory):  # noqa: F811
    """A labelling app on a free loopback port, in a thread of this process, over a copy
    of labels.csv; yields (base URL, the copy's folder)."""
    from newstag.service import create_app

    folder = tmp_path_factory.mktemp("label-browser")
    shutil.copy(ROOT / "labels.csv", folder / "labels.csv")
    shutil.copy(ROOT / "topics.csv", folder / "topics.csv")
    write_suggestions(folder / "suggestions.csv", [
        suggestion(0, guess=""),
        suggestion(1, guess="people_congress"),
        suggestion(2, guess="heating"),
        suggestion(3, guess=""),
        suggestion(4, guess="inspection"),
    ])
    model = model_for_tests(tmp_path_factory.mktemp("service-model"))
    app = create_app({"NEWSTAG_MODEL": str(model), "NEWSTAG_RELOAD_INTERVAL": 0, "NEWSTAG_LABELLING": True,
                      "NEWSTAG_LABELLING_TOKEN": TOKEN, "NEWSTAG_LABEL_QUEUE": str(folder / "suggestions.csv"),
                      "NEWSTAG_LABELS": str(folder / "labels.csv")})
    with serving(app) as url:
        yield url, folder


def new_rows(folder):
    with open(folder / "labels.csv", encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r.get("labelled_by")]


class Page:
    """The /label page in the browser: press keys, wait for the answer."""

    def __init__(self, driver):  # noqa: F811
        self.driver = driver

    def seq(self) -> int:
        return int(self.driver.find_element("tag name", "body").get_attribute("data-seq") or 0)

    def press(self, keys, wait=True):
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.support.ui import WebDriverWait

        before = self.seq()
        ActionChains(self.driver).send_keys(keys).perform()
        if wait:
            WebDriverWait(self.driver, 10).until(lambda d: self.seq() > before)

    def item_id(self) -> str:
        return self.driver.find_element("id", "item").get_attribute("data-id")

    def ticked(self) -> list:
        return [c.get_attribute("value") for c in self.driver.find_elements("css selector", "#topics input[name=topic]")
                if c.is_selected()]

    def progress(self) -> str:
        return self.driver.find_element("id", "progress").text

    def text(self, element_id) -> str:
        return self.driver.find_element("id", element_id).text


def test_label_with_the_keyboard(driver, server):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    base, folder = server
    page = Page(driver)
    driver.get(base + "/label")
    driver.execute_script("localStorage.clear(); sessionStorage.clear();")
    driver.get(base + "/label")
    driver.get_log("browser")  # drop what came before
    assert driver.find_element(By.ID, "login").is_displayed() and not driver.find_element(By.ID, "item").is_displayed()

    # a wrong token is refused, and the page asks again
    driver.find_element(By.ID, "login-name").send_keys(NAME)
    driver.find_element(By.ID, "login-token").send_keys("not-the-token")
    driver.find_element(By.ID, "login-start").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    assert "Wrong token" in page.text("error") and driver.find_element(By.ID, "login").is_displayed()

    # name remembered; the right token
    assert driver.find_element(By.ID, "login-name").get_attribute("value") == NAME
    driver.find_element(By.ID, "login-token").send_keys(TOKEN)
    driver.find_element(By.ID, "login-start").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "item").is_displayed())
    assert page.item_id() == "0" and page.ticked() == []
    assert page.text("paragraph") == suggestion(0)["text"]
    assert page.text("article-title") == suggestion(0)["article_title"]
    assert page.text("before") == suggestion(0)["before"] and page.text("after") == suggestion(0)["after"]
    assert "Labelled 0 / 5" in page.progress() and "this session 0" in page.progress()
    assert [r.get_attribute("data-topic") for r in driver.find_elements(By.CSS_SELECTOR, "#topics tr")] == [
        "heating", "people_congress", "culture_tourism", "inspection"]

    # "1" ticks heating, Enter writes the row
    page.press("1", wait=False)
    assert page.ticked() == ["heating"] and page.text("answer") == "供热"
    page.press(Keys.ENTER)
    rows = new_rows(folder)
    assert [(r["text"], r["labels"], r["labelled_by"]) for r in rows] == [(suggestion(0)["text"], "heating", NAME)]
    assert rows[0]["source"] == suggestion(0)["source"] and rows[0]["article"] == suggestion(0)["article"]
    assert page.item_id() == "1" and page.ticked() == ["people_congress"]  # the model's guess, pre-ticked
    assert "Labelled 1 / 5" in page.progress() and "this session 1" in page.progress()
    assert len(driver.find_elements(By.CSS_SELECTOR, "#session-list li")) == 1

    # "U" takes it back: the row is gone, item 0 is shown again with the earlier answer ticked
    page.press("u")
    assert new_rows(folder) == []
    assert page.item_id() == "0" and page.ticked() == ["heating"]
    assert "Labelled 0 / 5" in page.progress() and not driver.find_elements(By.CSS_SELECTOR, "#session-list li")

    # "0" then Enter: a none row
    page.press("0", wait=False)
    assert page.ticked() == [] and page.text("answer").startswith("none")
    page.press(Keys.ENTER)
    assert [(r["text"], r["labels"]) for r in new_rows(folder)] == [(suggestion(0)["text"], "")]
    assert page.item_id() == "1"

    # "S" skips item 1: nothing written
    page.press("s")
    assert len(new_rows(folder)) == 1
    assert page.item_id() == "2" and "skipped 1" in page.progress() and page.ticked() == ["heating"]

    # letters toggle too: "i" adds inspection, "h" removes heating
    page.press("ih", wait=False)
    assert page.ticked() == ["inspection"]
    driver.save_screenshot("/tmp/label.png")
    page.press(Keys.ENTER)
    assert [r["labels"] for r in new_rows(folder)] == ["", "inspection"]
    assert "Labelled 2 / 5" in page.progress() and "this session 2" in page.progress()
    assert [li.get_attribute("data-id") for li in driver.find_elements(By.CSS_SELECTOR, "#session-list li")] == ["2", "0"]

    # nothing came from elsewhere, and the console is clean
    urls = driver.execute_script("return performance.getEntriesByType('resource').map(function (e) { return e.name; });")
    assert urls and all(u.startswith(base + "/") for u in urls), urls
    assert all(TOKEN not in u for u in urls)
    problems = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "401" not in e["message"]
                and "403" not in e["message"]]
    assert problems == [], json.dumps(problems, ensure_ascii=False)


def test_a_reload_keeps_the_session_and_asks_for_nothing(driver, server):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, folder = server
    driver.get(base + "/label")  # name in localStorage, token in sessionStorage: straight to work
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "item").is_displayed()
                                    or d.find_element(By.ID, "empty").is_displayed())
    assert not driver.find_element(By.ID, "login").is_displayed()
    assert driver.find_element(By.ID, "session-count").text == str(len(new_rows(folder)))
    assert "skipped 1" in Page(driver).progress()
