#!/usr/bin/env node
// Validates trailwatch's CloudFormation templates with cfn-lint. cfn-lint's
// bundled resource specification predates properties the templates need
// (Lambda Architectures, FunctionResponseTypes, ...), so the newer
// CloudFormation resource specification shipped in @aws-cdk/cfnspec replaces
// it before validation. Exits non-zero on any error.
'use strict';

const path = require('path');
const awsData = require('cfn-lint/lib/awsData');
awsData.awsResources = require('@aws-cdk/cfnspec/spec/specification.json');
const api = require('cfn-lint/lib/api');

// Realistic values for parameters without defaults, so that checks that
// expect ARNs see ARNs rather than cfn-lint's guessed strings.
const sampleParameters = {
  CodeBucket: 'example-artifacts',
  TrailBucketName: 'example-cloudtrail-logs',
  CentralBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/trailwatch-cloudtrail',
  FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:trailwatch',
  LogGroupName: 'aws-cloudtrail-logs-123456789012',
  SecretArns: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:trailwatch/slack-AbCdEf',
  KmsKeyArns: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  SnsTopicArns: 'arn:aws:sns:us-east-1:123456789012:security-alerts',
  ReadObjectArns: 'arn:aws:s3:::example-config/geoip/GeoLite2-City.mmdb',
  SesIdentityArns: 'arn:aws:ses:us-east-1:123456789012:identity/example.com',
};

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node deploy/lint.js TEMPLATE...');
  process.exit(2);
}
let failed = false;
for (const file of files) {
  const result = api.validateFile(path.resolve(file), { parameters: sampleParameters });
  for (const level of ['crit', 'warn']) {
    for (const p of result.errors[level]) {
      console.error(`${file}: ${level}: ${p.resource}: ${p.message}`);
    }
  }
  if (!result.templateValid || result.errors.crit.length > 0) {
    failed = true;
  } else {
    console.log(`${file}: valid (${result.errors.warn.length} warnings)`);
  }
}
process.exit(failed ? 1 : 0);
