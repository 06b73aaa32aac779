# Installed as the package ``workbench.resources`` (see pyproject.toml) so the sample
# dataset and icons travel with every kind of install.
