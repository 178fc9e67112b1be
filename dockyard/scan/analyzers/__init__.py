"""The analyzers that turn layer files into packages; each module understands one format."""
