"""What is inside an image: a package inventory read from its layers as a stream.

``model`` holds the shapes every part shares (the scanner that fills an inventory, the
advisory matcher that reads it, the API and SBOM writers that show it).
"""
