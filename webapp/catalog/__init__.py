"""The trial and education-page catalog: database models, loading and exporting."""
