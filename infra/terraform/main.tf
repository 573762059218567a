# Creates the pipeline's IAM roles on real AWS from the very documents the local
# server enforces in the tests:
#
#   datarefresh iam render --config my-config.yaml > roles.json
#   terraform init && terraform apply -var roles_file=roles.json
#
# Set iam.trusted_principal in the config to the principal that runs the pipeline
# (e.g. the Airflow workers' role ARN) before rendering.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = ">= 5.0" }
  }
}

variable "roles_file" {
  description = "Output of `datarefresh iam render`"
  type        = string
}

variable "path" {
  description = "IAM path for the roles"
  type        = string
  default     = "/datarefresh/"
}

locals {
  roles = { for r in jsondecode(file(var.roles_file)).roles : r.name => r }
}

resource "aws_iam_role" "this" {
  for_each           = local.roles
  name               = each.key
  path               = var.path
  assume_role_policy = jsonencode(each.value.trust_policy)
  tags = {
    "datarefresh:environment" = each.value.environment
    "datarefresh:purpose"     = each.value.purpose
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.roles
  name     = "${each.key}-policy"
  role     = aws_iam_role.this[each.key].id
  policy   = jsonencode(each.value.policy)
}

output "role_arns" {
  description = "Put these in the config (source.role, environments.*.writer_role/reader_role) and Airflow connections"
  value       = { for name, role in aws_iam_role.this : name => role.arn }
}
