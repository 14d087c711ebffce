"""Question bank as catalog data: conditions, facts and questions; triage of registry lines.

Creates the three bank tables and fills them with the starter bank as it stood when this
migration was written (migrations/data/0003_question_bank.json, frozen), so an existing
database keeps a working screener before any newer catalog file is loaded. Renames the fact
months_since_type1_diagnosis to time_since_diagnosis:type1 (in months, as before).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:00:00
"""
import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BANK = Path(__file__).resolve().parent.parent / "data" / "0003_question_bank.json"


def _bank_tables():
    condition = op.create_table(
        'catalog_condition',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('registry_terms', sa.JSON(), nullable=False),
        sa.Column('search_term', sa.String(length=200), nullable=True),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('retired', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('staff_edited', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    fact = op.create_table(
        'catalog_fact',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('unit', sa.String(length=20), nullable=True),
        sa.Column('lab_value', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('condition_key', sa.String(length=60), nullable=True),
        sa.Column('lowest', sa.Float(), nullable=True),
        sa.Column('highest', sa.Float(), nullable=True),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('retired', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('staff_edited', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    question = op.create_table(
        'catalog_question',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('facts', sa.JSON(), nullable=False),
        sa.Column('options', sa.JSON(), nullable=False),
        sa.Column('condition_key', sa.String(length=60), nullable=True),
        sa.Column('skip', sa.JSON(), nullable=False),
        sa.Column('minimum', sa.Float(), nullable=True),
        sa.Column('maximum', sa.Float(), nullable=True),
        sa.Column('caregiver_hint', sa.Boolean(), server_default='1', nullable=False),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('retired', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('staff_edited', sa.Boolean(), server_default='0', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    return condition, fact, question


def upgrade():
    condition, fact, question = _bank_tables()
    with op.batch_alter_table('trial', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_triage', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('untriaged_lines', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('team_lines', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_key', sa.String(length=40), nullable=True))

    bank = json.loads(BANK.read_text("utf-8"))
    op.bulk_insert(condition, [
        {"key": c["id"], "position": i, "registry_terms": c["registry_terms"], "search_term": c["search_term"],
         "texts": c["texts"], "retired": False, "staff_edited": False, "version": 1}
        for i, c in enumerate(bank["conditions"])])
    op.bulk_insert(fact, [
        {"key": f["id"], "kind": f["kind"], "unit": f["unit"], "lab_value": f["lab_value"],
         "condition_key": f["condition"], "lowest": f["lowest"], "highest": f["highest"], "texts": f["texts"],
         "retired": False, "staff_edited": False, "version": 1}
        for f in bank["facts"]])
    op.bulk_insert(question, [
        {"key": q["id"], "kind": q["kind"], "position": i, "facts": q["facts"], "options": q["options"],
         "condition_key": q["condition"], "skip": q["skip"], "minimum": q["minimum"], "maximum": q["maximum"],
         "caregiver_hint": q["caregiver_hint"], "texts": q["texts"], "retired": False, "staff_edited": False,
         "version": 1}
        for i, q in enumerate(bank["questions"])])

    connection = op.get_bind()
    trial = sa.table('trial', sa.column('id', sa.Integer), sa.column('line_triage', sa.JSON),
                     sa.column('eligibility_text', sa.Text), sa.column('untriaged_lines', sa.Integer))
    connection.execute(trial.update().values(line_triage={}))
    # Registry text imported before triage existed: every line is still to be gone through,
    # so such a study is at best "the study team would need to check" until staff have.
    from webapp.core.eligibility_text import split_lines
    for row_id, text in connection.execute(sa.select(trial.c.id, trial.c.eligibility_text)
                                           .where(trial.c.eligibility_text.is_not(None))).all():
        connection.execute(trial.update().where(trial.c.id == row_id).values(
            untriaged_lines=len(split_lines(text))))
    criterion = sa.table('criterion', sa.column('id', sa.Integer), sa.column('fact', sa.String),
                         sa.column('value', sa.JSON))
    rows = connection.execute(sa.select(criterion.c.id, criterion.c.value)
                              .where(criterion.c.fact == 'months_since_type1_diagnosis')).all()
    for row_id, value in rows:
        connection.execute(criterion.update().where(criterion.c.id == row_id).values(
            fact='time_since_diagnosis:type1', value={**(value or {}), "unit": "months"}))
    with op.batch_alter_table('trial', schema=None) as batch_op:
        batch_op.alter_column('line_triage', existing_type=sa.JSON(), nullable=False)


def downgrade():
    connection = op.get_bind()
    criterion = sa.table('criterion', sa.column('id', sa.Integer), sa.column('fact', sa.String),
                         sa.column('value', sa.JSON))
    rows = connection.execute(sa.select(criterion.c.id, criterion.c.value)
                              .where(criterion.c.fact == 'time_since_diagnosis:type1')).all()
    for row_id, value in rows:
        kept = {k: v for k, v in (value or {}).items() if k != "unit"}
        connection.execute(criterion.update().where(criterion.c.id == row_id).values(
            fact='months_since_type1_diagnosis', value=kept))
    with op.batch_alter_table('criterion', schema=None) as batch_op:
        batch_op.drop_column('line_key')
    with op.batch_alter_table('trial', schema=None) as batch_op:
        batch_op.drop_column('team_lines')
        batch_op.drop_column('untriaged_lines')
        batch_op.drop_column('line_triage')
    op.drop_table('catalog_question')
    op.drop_table('catalog_fact')
    op.drop_table('catalog_condition')
