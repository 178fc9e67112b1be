"""Refresh docs/screenshots/ from a running Dockyard (Debian's Chromium, headless).

    .venv/bin/python scripts/screenshots.py --url http://127.0.0.1:5000 \
        --user admin --password ... --repository acme/app/tiny --tag v1.0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--out", default="docs/screenshots")
    options = parser.parse_args()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    project = "/".join(options.repository.split("/")[:2])
    pages = {
        "projects": "/",
        "project": f"/p/{project}",
        "repository": f"/r/{options.repository}",
        "project-vulnerabilities": f"/p/{project}/-/vulnerabilities",
        "tag": f"/r/{options.repository}/-/tags/{options.tag}",
        "tag-vulnerabilities": f"/r/{options.repository}/-/tags/{options.tag}/vulnerabilities",
        "tokens": "/-/settings/tokens",
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{options.url}/-/login")
        page.screenshot(path=str(out / "login.png"))
        page.fill("input[name=username]", options.user)
        page.fill("input[name=password]", options.password)
        page.click("button[type=submit]")
        for name, path in pages.items():
            page.goto(options.url + path)
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
