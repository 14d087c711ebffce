"""Recount each study's registry lines with the current splitter.

The splitter now reads sentences such as "A participant who meets any of the following criteria
will be excluded:" as section headers, so some lines of an imported study changed section (and
key). A decision staff made on the old key no longer applies, and the stored counts of lines
not gone through must say so: otherwise a study could show as "may be a fit" with lines nobody
has looked at. Counting is the same as `webapp.catalog.service.count_untriaged_lines`; the
catalog revision changes so every process rebuilds its index.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:20:00

"""
import json
import secrets

from alembic import op
import sqlalchemy as sa

from webapp.core.eligibility_text import split_lines


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _loaded(value):
    if value is None:
        return {}
    return json.loads(value) if isinstance(value, str) else value


def upgrade():
    bind = op.get_bind()
    trial = sa.table('trial', sa.column('id', sa.Integer), sa.column('eligibility_text', sa.Text),
                     sa.column('line_triage', sa.JSON), sa.column('untriaged_lines', sa.Integer),
                     sa.column('team_lines', sa.Integer))
    criterion = sa.table('criterion', sa.column('trial_id', sa.Integer), sa.column('line_key', sa.String))
    linked = {}
    for trial_id, key in bind.execute(sa.select(criterion.c.trial_id, criterion.c.line_key)
                                      .where(criterion.c.line_key.isnot(None))):
        linked.setdefault(trial_id, set()).add(key)
    changed = 0
    rows = bind.execute(sa.select(trial.c.id, trial.c.eligibility_text, trial.c.line_triage,
                                  trial.c.untriaged_lines, trial.c.team_lines)
                        .where(trial.c.eligibility_text.isnot(None))).all()
    for trial_id, text, triage, untriaged, team in rows:
        triage = _loaded(triage) or {}
        with_criterion = linked.get(trial_id, set())
        keys = [line.key for line in split_lines(text)]
        new_untriaged = sum(1 for key in keys if key not in triage and key not in with_criterion)
        new_team = sum(1 for key in keys if triage.get(key) == "study_team" and key not in with_criterion)
        if (new_untriaged, new_team) != (untriaged, team):
            bind.execute(trial.update().where(trial.c.id == trial_id)
                         .values(untriaged_lines=new_untriaged, team_lines=new_team))
            changed += 1
    if changed:
        info = sa.table('catalog_info', sa.column('key', sa.String), sa.column('value', sa.String))
        bind.execute(info.update().where(info.c.key == 'revision').values(value=secrets.token_hex(8)))


def downgrade():
    pass  # the counts are derived data; the older splitter recounts on the next save
