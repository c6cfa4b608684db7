"""Template and retrieval baselines of docstring generation."""

from __future__ import annotations

from codelm.tasks.docstring.baselines import RetrievalBaseline, name_words, template_docstring


def test_name_words_keep_acronyms():
    assert name_words("parseHTTPServer_config") == ["parse", "HTTP", "server", "config"]
    assert name_words("_load_json2") == ["load", "json", "2"]


def test_template_docstring():
    assert template_docstring("parse_config") == "Parse the config."
    assert template_docstring("Parser.parse") == "Parse."
    assert template_docstring("getHTTPServer") == "Get the HTTP server."
    assert template_docstring("is_valid") == "Return whether valid."
    assert template_docstring("has_key") == "Return whether it has key."
    assert template_docstring("Config.__init__") == "Initialize the instance."
    assert template_docstring("_") == "Run."


def test_retrieval_returns_the_nearest_training_docstring():
    codes = ["def read_json(path):\n    return json.load(open(path))\n",
             "def add_numbers(a, b):\n    return a + b\n",
             "def send_email(server, message):\n    server.sendmail(message)\n"]
    docs = ["Read a JSON file.", "Add two numbers.", "Send an email."]
    baseline = RetrievalBaseline(codes, docs)
    assert baseline("def load_json_file(p):\n    return json.load(open(p))\n") == "Read a JSON file."
    assert baseline("def email_send(srv, msg):\n    srv.sendmail(msg)\n") == "Send an email."
    assert baseline("x") == "Read a JSON file."  # nothing in common: the first
