"""`reinfer-clone import-csv`: columns become typed user properties."""
import pytest
from click.testing import CliRunner

from reinfer_clone.cli import main

from .helpers import iterate_comments, make_project, make_source


@pytest.fixture
def source(admin):
    make_project(admin, "acme")
    return make_source(admin, "acme", "inbox")


def run(config, *args):
    return CliRunner().invoke(main, ["--database-url", config.database_url, *args])


def test_import_csv_types_columns(tmp_path, config, admin, source):
    path = tmp_path / "in.csv"
    path.write_text(
        "ticket,when,text,Channel,Total,Mixed\n"
        "t1,2024-03-04T10:00:00Z,My card is lost,chat,12.5,7\n"
        "t2,2024-03-05,Refund please,email,3,n/a\n"
        't3,2024-03-06 08:00:00,"Hello, again",,,\n'
    )
    result = run(config, "import-csv", "acme/inbox", str(path), "--text-column", "text",
                 "--id-column", "ticket", "--timestamp-column", "when")
    assert result.exit_code == 0, result.output
    assert "new: 3" in result.output
    got = {c["id"]: c for c in iterate_comments(admin)}
    assert set(got) == {"t1", "t2", "t3"}
    assert got["t1"]["messages"] == [{"body": {"text": "My card is lost"}}]
    assert got["t1"]["timestamp"] == "2024-03-04T10:00:00Z"
    assert got["t2"]["timestamp"] == "2024-03-05T00:00:00Z"
    assert got["t1"]["user_properties"] == {
        "string:Channel": "chat", "number:Total": 12.5, "string:Mixed": "7"}
    assert got["t2"]["user_properties"] == {
        "string:Channel": "email", "number:Total": 3.0, "string:Mixed": "n/a"}
    assert "user_properties" not in got["t3"]
    # Importing again changes nothing.
    again = run(config, "import-csv", "acme/inbox", str(path), "--text-column", "text",
                "--id-column", "ticket", "--timestamp-column", "when")
    assert "unchanged: 3" in again.output


def test_missing_text_column_lists_the_columns(tmp_path, config, admin, source):
    path = tmp_path / "in.csv"
    path.write_text("id,body\n1,hello\n")
    result = run(config, "import-csv", "acme/inbox", str(path), "--text-column", "text")
    assert result.exit_code != 0
    assert "no column 'text'" in result.output and "'id', 'body'" in result.output
    assert iterate_comments(admin) == []


def test_bad_rows_are_reported(tmp_path, config, admin, source):
    path = tmp_path / "in.csv"
    path.write_text("id,text\nok,fine\nbad id,oops\n")
    result = run(config, "import-csv", "acme/inbox", str(path), "--text-column", "text", "--id-column", "id")
    assert result.exit_code != 0 and "comments.1.id" in result.output
    assert iterate_comments(admin) == []
