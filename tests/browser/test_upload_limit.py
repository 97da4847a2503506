"""A dropped file over the loaders' 32 MiB limit is refused in the page, without sending it: the drop
zone's clientside callback knows the upload route's limit (dashboard/web/callbacks/upload.py)."""

from __future__ import annotations

import shutil

import pytest

from analytics.sources.common import MAX_FILE_BYTES
from dashboard.app import create_app
from dashboard.uploads import UPLOAD_PATH
from dashboard.web import ids
from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

# a zero-filled file of the given size, made in the browser (nothing that big crosses the driver)
DROP_BIG_JS = """
const [id, size] = arguments;
const transfer = new DataTransfer();
transfer.items.add(new File([new Uint8Array(size)], 'big.csv', {type: 'text/csv'}));
const zone = document.getElementById(id).querySelector('input[type=file]').parentElement;
for (const kind of ['dragenter', 'dragover', 'drop']) {
  zone.dispatchEvent(new DragEvent(kind, {bubbles: true, cancelable: true, dataTransfer: transfer}));
}
"""
UPLOAD_REQUESTS_JS = f"return performance.getEntriesByType('resource').filter(e => e.name.includes('{UPLOAD_PATH}')).length;"


def test_a_file_over_the_limit_is_refused_with_its_size_and_never_sent(dash_duo, start_app, demo_dir, tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(demo_dir, folder)
    start_app(create_app(folder))
    dash_duo.wait_for_element(f"#{ids.UPLOAD}", timeout=20)
    before = sorted(p.name for p in folder.iterdir())
    dash_duo.driver.execute_script(DROP_BIG_JS, ids.UPLOAD, MAX_FILE_BYTES + 1)
    dash_duo.wait_for_contains_text(f"#{ids.UPLOAD_BANNER}", f"refused ({MAX_FILE_BYTES + 1:,} bytes): file too large",
                                    timeout=30)
    dash_duo.driver.set_window_size(1280, 800)
    dash_duo.find_element(".tools").screenshot(str(ARTIFACTS / "upload_too_large_1280.png"))
    dash_duo.driver.set_window_size(1600, 1000)
    dash_duo.find_element(".tools").screenshot(str(ARTIFACTS / "upload_too_large_1600.png"))
    assert dash_duo.driver.execute_script(UPLOAD_REQUESTS_JS) == 0
    assert sorted(p.name for p in folder.iterdir()) == before
    assert dash_duo.get_logs() == []
