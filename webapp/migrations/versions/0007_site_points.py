"""Each study's located sites, packed beside its registry locations (`trial.site_points`), so
building the catalog index does not parse every location of every study. Worked out here for
the studies already listed; a value missing or made with another ZIP table is worked out again
from the locations when the index is built (webapp/catalog/sites.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 17:40:00

"""
import json

from alembic import op
import sqlalchemy as sa

from webapp.catalog.sites import site_points_for


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('trial', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_points', sa.LargeBinary(), nullable=True))
    bind = op.get_bind()
    trial = sa.table('trial', sa.column('id', sa.Integer), sa.column('status', sa.String),
                     sa.column('locations', sa.JSON), sa.column('site_points', sa.LargeBinary))
    ids = list(bind.execute(sa.select(trial.c.id)).scalars())
    for start in range(0, len(ids), 1000):
        rows = bind.execute(sa.select(trial.c.id, trial.c.status, trial.c.locations)
                            .where(trial.c.id.in_(ids[start:start + 1000]))).all()
        bind.execute(trial.update().where(trial.c.id == sa.bindparam('trial_id')),
                     [{"trial_id": trial_id, "site_points": site_points_for(
                         json.loads(locations) if isinstance(locations, str) else locations, status or "")}
                      for trial_id, status, locations in rows])


def downgrade():
    with op.batch_alter_table('trial', schema=None) as batch_op:
        batch_op.drop_column('site_points')
