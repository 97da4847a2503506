"""Background jobs of two servers on one machine never meet: Dash keys a job by its callback and its
arguments (the view state, which does not name the data folder), so each data folder gets its own jobs
folder (dashboard.web.callbacks.work.manager). Before, two servers over different folders showing the
same view id read, and consumed, each other's results (seen as "gamma-by-strike never drew" when two
browser-test processes ran at once)."""

from __future__ import annotations

from dashboard.runtime.config import Settings
from dashboard.web.callbacks import work


def job_folder(settings: Settings, data_dir) -> str:
    return work.manager(settings, None if data_dir is None else str(data_dir)).handle.directory


def test_each_data_folder_has_its_own_jobs_folder_and_the_workers_of_one_share_it(tmp_path):
    settings = Settings(cache_dir=tmp_path / "cache")
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    other.mkdir()
    assert job_folder(settings, one) != job_folder(settings, other)
    assert job_folder(settings, one) == job_folder(settings, one)  # another worker of the same server
    assert job_folder(settings, one) == job_folder(settings, tmp_path / "other" / ".." / "one")  # one folder
    assert job_folder(settings, None) not in (job_folder(settings, one), job_folder(settings, other))
    assert job_folder(settings, one).startswith(str(tmp_path / "cache.jobs"))
