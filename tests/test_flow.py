"""The patient's path through the test client: start to results, branching, changes."""

from __future__ import annotations

from conftest import Screener, card, months_ago, verdicts

# Only the questions whose answers can still change a listed study's verdict are asked: with the
# bundled studies the VA study's veteran question never is (no answer can rule it out, and its
# unknown age limit keeps it from "may be a fit"), and there is no travel question.
PANCREATITIS_45 = {
    "conditions": {"answer": ["chronic_pancreatitis"]},
    "age": {"answer": "45"},
    "cp_pain_duration": {"answer": "over_6_months"},
    "cp_dose_stable": {"answer": "yes"},
    "cp_procedure_planned": {"answer": "no"},
    # Asked last: where the person lives (it orders the studies by distance, never rules one out).
    "location": {"place": "29425"},
}


def type1(age: int, months: int, insulin: str = "not_sure") -> dict:
    return {
        "conditions": {"answer": ["type1"]},
        "age": {"answer": str(age)},
        "type1_diagnosed": months_ago(months),
        "type1_own_insulin": {"answer": insulin},
    }


def test_root_picks_english(client):
    response = client.get("/", headers={"Accept-Language": "fr;q=0.9, en;q=0.5"})
    assert response.status_code == 302
    assert response.location.endswith("/en/")


def test_whole_flow_pancreatitis_age_45(screener: Screener):
    # Exactly these questions, in this order: each can still change a listed study's verdict.
    assert screener.questions_asked(PANCREATITIS_45) == list(PANCREATITIS_45)
    response = screener.answer("cp_procedure_planned", answer="no")
    assert response.location.endswith("/en/check")
    check = screener.client.get("/en/check").get_data(as_text=True)
    assert "Chronic pancreatitis" in check and ">45<" in check
    html = screener.results_html()
    found = verdicts(html)
    # STEMCAP-1 may or might be a fit: two criteria only the study team can check.
    assert found["NCT06205342"] in ("fit", "check")
    assert found["NCT05925036"] == "check"  # no age limits found: the study team checks
    va = card(html, "NCT05925036")
    assert "You are a U.S. military veteran" in va and "We did not ask about this." in va
    assert "NCT04061746" not in found  # type 1 study: unrelated, counted not listed
    assert "There is 1 other study in our list" in html
    assert 'data-status="RECRUITING"' in html
    assert "Talk to your doctor" in html


def test_pancreatitis_at_80_is_probably_not_a_fit_because_of_age(screener: Screener):
    asked = screener.questions_asked({**PANCREATITIS_45, "age": {"answer": "80"}})
    # At 80 STEMCAP-1 is ruled out by age, so its procedure question is no longer asked.
    assert asked == ["conditions", "age", "cp_pain_duration", "cp_dose_stable", "location"]
    html = screener.results_html()
    assert verdicts(html)["NCT06205342"] == "unlikely"
    stemcap = card(html, "NCT06205342")
    assert "You are 18 to 75 years old" in stemcap
    # The reason starts from the person's own answer.
    assert "You answered: 80. This does not match what the study asks for." in stemcap
    assert "This study only takes people aged 18 to 75." in stemcap
    # The age criterion is the only one not met.
    assert stemcap.count("reason-not_met") == 1


def test_type1_diagnosed_2_months_ago_at_25(screener: Screener):
    screener.answer_all(type1(25, 2))
    html = screener.results_html()
    assert verdicts(html) == {"NCT04061746": "check"}
    closed = html[html.index('id="group-closed"'):]
    assert 'data-trial="NCT04061746"' in closed  # under "Not recruiting now"
    assert 'data-status="ACTIVE_NOT_RECRUITING"' in closed
    musc = card(html, "NCT04061746")
    # The study team would check the blood tests: antibodies always, insulin when not sure.
    assert "Diabetes antibodies in your blood" in musc
    assert "Only the study team can check this." in musc
    assert "You said you are not sure. The study team will check." in musc
    assert "/en/learn/mesenchymal-stem-cells" in html
    assert "/en/learn/new-onset" in html


def test_type1_diagnosed_10_years_ago_is_probably_not_a_fit(screener: Screener):
    assert screener.questions_asked(type1(25, 120)) == ["conditions", "age", "type1_diagnosed"]
    html = screener.results_html()
    assert verdicts(html) == {"NCT04061746": "unlikely"}
    musc = card(html, "NCT04061746")
    assert "less than 3 months ago (one source says up to 6 months)" in musc
    assert "only for people who found out they have type 1 diabetes in the last few months" in musc


def test_no_own_insulin_rules_out_but_yes_never_confirms(screener: Screener):
    screener.answer_all(type1(25, 1, insulin="yes"))
    html = screener.results_html()
    assert verdicts(html)["NCT04061746"] == "check"
    # The yes is acknowledged; a blood test confirms it.
    assert "You answered: Yes. A blood test will confirm this. The study team will check." in card(html, "NCT04061746")
    screener.answer("type1_own_insulin", answer="no")
    assert verdicts(screener.results_html())["NCT04061746"] == "unlikely"


def test_branching_skips_questions_that_cannot_change_a_verdict(screener: Screener):
    # No listed study is about type 2 diabetes: nothing more to ask.
    response = screener.answer("conditions", answer=["type2"])
    assert response.location.endswith("/en/check")
    # Questions that would not change anything cannot be reached.
    for question_id in ("age", "veteran", "type1_diagnosed", "hba1c", "sex"):
        response = screener.client.get(f"/en/questions/{question_id}")
        assert response.status_code == 302 and response.location.endswith("/en/check"), question_id


def test_unrelated_trials_are_counted_and_listed_on_request(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["type2"]}})
    html = screener.results_html()
    assert verdicts(html) == {}
    assert "There are 3 other studies in our list" in html
    assert "If no study fits you now" in html
    assert "clinicaltrials.gov/search?cond=Type%202%20Diabetes" in html
    everything = screener.results_html("?show=all")
    assert set(verdicts(everything)) == {"NCT06205342", "NCT05925036", "NCT04061746"}
    # None of them is about type 2 diabetes: each is ruled out by its condition.
    assert set(verdicts(everything).values()) == {"unlikely"}


NOT_SURE_OF_EVERYTHING = {
    "conditions": {"answer": ["not_sure"]}, "age": {"answer": "25"},
    "type1_diagnosed": {"not_sure": "y"}, "type1_own_insulin": {"answer": "not_sure"},
    "cp_pain_duration": {"answer": "not_sure"}, "cp_dose_stable": {"answer": "not_sure"},
    "cp_procedure_planned": {"answer": "not_sure"},
    "location": {"not_sure": "y"},
}


def test_not_sure_of_condition_asks_every_follow_up_and_lists_every_trial_as_check(screener: Screener):
    # "Not sure" of the condition asks the follow-ups of every condition a listed study turns on.
    assert screener.questions_asked(NOT_SURE_OF_EVERYTHING) == list(NOT_SURE_OF_EVERYTHING)
    html = screener.results_html()
    assert set(verdicts(html).values()) == {"check"}
    # The one unasked question is the VA study's veteran question, which no answer could change.
    assert html.count("We did not ask about this.") == 1


def test_change_link_returns_to_check_page(screener: Screener):
    screener.answer_all(PANCREATITIS_45)
    check = screener.client.get("/en/check").get_data(as_text=True)
    assert 'href="/en/questions/age?change=1"' in check
    page = screener.client.get("/en/questions/age?change=1").get_data(as_text=True)
    assert 'value="45"' in page and 'href="/en/check"' in page  # prefilled, back to check
    response = screener.answer("age", change=True, answer="46")
    assert response.location.endswith("/en/check")
    assert ">46<" in screener.client.get("/en/check").get_data(as_text=True)


def test_change_that_opens_new_questions_asks_them_then_returns(screener: Screener):
    screener.answer_all({**PANCREATITIS_45, "age": {"answer": "28"}})
    response = screener.answer("conditions", change=True, answer=["type1", "chronic_pancreatitis"])
    assert response.location.endswith("/en/questions/type1_diagnosed?change=1")
    response = screener.answer("type1_diagnosed", change=True, **months_ago(1))
    assert response.location.endswith("/en/questions/type1_own_insulin?change=1")
    response = screener.answer("type1_own_insulin", change=True, answer="yes")
    assert response.location.endswith("/en/check")
    # Earlier answers were kept.
    check = screener.client.get("/en/check").get_data(as_text=True)
    assert ">28<" in check and "More than 6 months" in check


def test_change_that_closes_questions_drops_their_answers(screener: Screener):
    screener.answer_all(PANCREATITIS_45)
    screener.answer("conditions", change=True, answer=["type2"])
    check = screener.client.get("/en/check").get_data(as_text=True)
    assert "pancreatitis pain has lasted" not in check and "opioid" not in check
    # Age applies to everyone, so the answer is kept.
    assert ">45<" in check


def test_results_and_check_need_answers_first(client):
    assert client.get("/en/results").location.endswith("/en/")
    assert client.get("/en/check").location.endswith("/en/")
    assert client.get("/en/questions/age").location.endswith("/en/questions/conditions")


def test_results_before_finishing_go_to_next_question(screener: Screener):
    screener.answer("conditions", answer=["type1"])
    assert screener.client.get("/en/results").location.endswith("/en/questions/age")


def test_clear_my_answers(screener: Screener):
    screener.answer_all(PANCREATITIS_45)
    start = screener.client.get("/en/").get_data(as_text=True)
    assert "Clear my answers" in start
    token = screener.csrf_token()
    response = screener.client.post("/en/clear", data={"csrf_token": token}, follow_redirects=True)
    assert "Your answers have been cleared." in response.get_data(as_text=True)
    assert screener.client.get("/en/results").location.endswith("/en/")


def test_back_links_follow_the_questions_asked(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["type1"]}, "age": {"answer": "30"}})
    page = screener.client.get("/en/questions/type1_diagnosed").get_data(as_text=True)
    assert 'class="back-link" href="/en/questions/age"' in page
    # An answer could still rule the study out, leaving later questions unasked: "up to".
    assert "Question 3 of up to 5" in page
    screener.answer("type1_diagnosed", **months_ago(2))
    following = screener.client.get("/en/questions/type1_own_insulin").get_data(as_text=True)
    # "No" would rule the study out, and then where the person lives no longer matters.
    assert "Question 4 of up to 5" in following
    screener.answer("type1_own_insulin", answer="yes")
    last = screener.client.get("/en/questions/location").get_data(as_text=True)
    assert "Question 5 of 5" in last
    first = screener.client.get("/en/questions/conditions").get_data(as_text=True)
    assert 'class="back-link" href="/en/"' in first


def test_an_answer_that_rules_the_only_study_out_ends_the_questions(screener: Screener):
    screener.answer_all({"conditions": {"answer": ["type1"]}, "age": {"answer": "30"}})
    # Diagnosed 10 years ago: the new-onset study is ruled out, so its insulin question is not asked.
    response = screener.answer("type1_diagnosed", **months_ago(120))
    assert response.location.endswith("/en/check")
    assert not screener.asked("type1_own_insulin")
    assert verdicts(screener.results_html()) == {"NCT04061746": "unlikely"}
