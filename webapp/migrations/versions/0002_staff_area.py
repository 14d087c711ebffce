"""Staff area: accounts, audit trail, share links, anonymous counts, editable catalog fields.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:18:45.160100

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_generation', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('usage_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('link_code', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('registry_id', sa.String(length=32), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', 'link_code', 'language', 'event', 'registry_id', 'verdict')
    )
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('staff_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('share_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('trials', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('education_page', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trials', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('staff_edited', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))

    with op.batch_alter_table('trial', schema=None) as batch_op:
        batch_op.add_column(sa.Column('archived', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('staff_edited', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('brief_title', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('phases', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('sex', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('minimum_age', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('maximum_age', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('registry_conditions', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('locations', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('eligibility_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('registry_updated', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))



def downgrade():
    with op.batch_alter_table('trial', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('registry_updated')
        batch_op.drop_column('eligibility_text')
        batch_op.drop_column('locations')
        batch_op.drop_column('registry_conditions')
        batch_op.drop_column('maximum_age')
        batch_op.drop_column('minimum_age')
        batch_op.drop_column('sex')
        batch_op.drop_column('phases')
        batch_op.drop_column('brief_title')
        batch_op.drop_column('staff_edited')
        batch_op.drop_column('archived')

    with op.batch_alter_table('education_page', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('staff_edited')
        batch_op.drop_column('trials')

    op.drop_table('share_link')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))

    op.drop_table('audit_event')
    op.drop_table('usage_count')
    op.drop_table('staff_user')
