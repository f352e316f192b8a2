'use strict';
// The two buckets, their TLS-only policies and their notifications. Written in
// JS so the accepted image suffixes come from lib/keys.py (one list, used by
// the OCR function and the local stack too), upper and lower case.
const fs = require('fs');
const path = require('path');

function imageSuffixes() {
  const source = fs.readFileSync(path.join(__dirname, '..', 'lib', 'keys.py'), 'utf8');
  const match = source.match(/^IMAGE_SUFFIXES[^=]*=\s*\(([^)]*)\)/m);
  if (!match) throw new Error('IMAGE_SUFFIXES not found in lib/keys.py');
  const lower = [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  return [...new Set(lower.flatMap((s) => [s, s.toUpperCase()]))];
}

function suffixFilter(suffix) {
  return { S3Key: { Rules: [{ Name: 'suffix', Value: suffix }] } };
}

function bucket(name, deletionPolicy, extra) {
  return {
    Type: 'AWS::S3::Bucket',
    DeletionPolicy: deletionPolicy,
    UpdateReplacePolicy: deletionPolicy,
    Metadata: {
      checkov: { skip: [
        { id: 'CKV_AWS_18', comment: 'Access logging needs a log bucket of your organisation; enable it there or with CloudTrail data events.' },
        { id: 'CKV_AWS_144', comment: 'Cross-region replication is a disaster-recovery choice with its own cost, not a default.' },
        { id: 'CKV_AWS_145', comment: 'SSE-S3 (AES-256) encryption: a KMS key adds a KMS request per object and per read at scale.' },
      ] },
    },
    Properties: {
      BucketName: name,
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: { Rules: [{ Id: 'expire-old-versions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 } }] },
      ...extra,
    },
  };
}

function tlsOnly(bucketRef) {
  return {
    Type: 'AWS::S3::BucketPolicy',
    Properties: {
      Bucket: { Ref: bucketRef },
      PolicyDocument: { Version: '2012-10-17', Statement: [{
        Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*',
        Resource: [{ 'Fn::GetAtt': [bucketRef, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketRef, 'Arn'] }, '/*']] }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }] },
    },
  };
}

module.exports = async ({ resolveVariable }) => {
  const pages = await resolveVariable('param:pagesBucket');
  const results = await resolveVariable('param:resultsBucket');
  const retain = String(await resolveVariable('param:retainBuckets')) !== 'false';
  const policy = retain ? 'Retain' : 'Delete';
  const topicConfigurations = imageSuffixes().flatMap((suffix) =>
    ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'].map((event) => ({ Event: event, Topic: { Ref: 'PagesTopic' }, Filter: suffixFilter(suffix) })));
  const lambdaConfigurations = ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'].map((event) => ({
    Event: event, Function: { 'Fn::GetAtt': ['IndexerLambdaFunction', 'Arn'] }, Filter: suffixFilter('.json'),
  }));
  return {
    Resources: {
      PagesBucket: { ...bucket(pages, policy, { NotificationConfiguration: { TopicConfigurations: topicConfigurations } }), DependsOn: ['PagesTopicPolicy'] },
      PagesBucketPolicy: tlsOnly('PagesBucket'),
      ResultsBucket: { ...bucket(results, policy, { NotificationConfiguration: { LambdaConfigurations: lambdaConfigurations } }), DependsOn: ['IndexerS3Permission'] },
      ResultsBucketPolicy: tlsOnly('ResultsBucket'),
    },
  };
};
