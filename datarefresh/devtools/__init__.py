"""Developer tools, not part of a production run: the demo, its generated data and the local AWS
server (moto) that stands in for S3 and IAM."""
