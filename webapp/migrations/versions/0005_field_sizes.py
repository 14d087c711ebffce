"""Columns sized for real registry data (the same limits are checked where text comes in,
webapp/catalog/limits.py), so PostgreSQL stores whatever SQLite does; and the screenings the
counts already hold, so a replayed cookie is not counted twice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

WIDER = {"acronym": (100, 200), "sponsor": (300, 1000), "phase": (50, 200), "site": (300, 1000),
         "site_city": (200, 300)}


def upgrade():
    with op.batch_alter_table('trial', schema=None) as batch_op:
        for column, (old, new) in WIDER.items():
            batch_op.alter_column(column, existing_type=sa.String(length=old), type_=sa.String(length=new),
                                  existing_nullable=True)
    op.create_table('counted_screening',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', 'event')
    )
    with op.batch_alter_table('counted_screening', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counted_screening_day'), ['day'], unique=False)


def downgrade():
    op.drop_table('counted_screening')
    with op.batch_alter_table('trial', schema=None) as batch_op:
        for column, (old, new) in WIDER.items():
            batch_op.alter_column(column, existing_type=sa.String(length=new), type_=sa.String(length=old),
                                  existing_nullable=True)
