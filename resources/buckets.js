'use strict';
// The two buckets, the bucket of their access logs, TLS-only policies and the
// notifications. Written in JS so that the notifications come from
// lib/notifications.json, the one description of which events reach which
// function (the OCR function's suffixes and the local stack read it too).
const wiring = require('../lib/notifications.json');

function suffixes(bucketRole) {
  const { suffixes: lower, upper_case_too: upper } = wiring[bucketRole];
  return [...new Set(lower.flatMap((s) => (upper ? [s, s.toUpperCase()] : [s])))];
}

function suffixFilter(suffix) {
  return { S3Key: { Rules: [{ Name: 'suffix', Value: suffix }] } };
}

const partition = (rest) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, rest]] });

// Encryption is SSE-S3 (AES-256): a KMS key would add a KMS request per object
// written and read, at millions of pages; access is governed by IAM and the
// bucket policies, and S3 server access logs only support SSE-S3 targets.
function bucket(name, deletionPolicy, extra) {
  return {
    Type: 'AWS::S3::Bucket',
    DeletionPolicy: deletionPolicy,
    UpdateReplacePolicy: deletionPolicy,
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

function logsTo(prefix) {
  return { LoggingConfiguration: { DestinationBucketName: { Ref: 'AccessLogsBucket' }, LogFilePrefix: prefix } };
}

// A deny, so the wildcard principal and action widen nothing: any request to
// the bucket or its objects over plain HTTP is refused, whoever makes it.
function tlsOnly(bucketRef, extraStatements = []) {
  return {
    Type: 'AWS::S3::BucketPolicy',
    Properties: {
      Bucket: { Ref: bucketRef },
      PolicyDocument: { Version: '2012-10-17', Statement: [{
        Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*',
        Resource: [{ 'Fn::GetAtt': [bucketRef, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketRef, 'Arn'] }, '/*']] }],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }, ...extraStatements] },
    },
  };
}

// S3's log delivery writes into the access-logs bucket, for our three buckets only.
function logDelivery(sourceBuckets) {
  return {
    Sid: 'S3ServerAccessLogs', Effect: 'Allow', Principal: { Service: 'logging.s3.amazonaws.com' },
    Action: 's3:PutObject',
    Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['AccessLogsBucket', 'Arn'] }, '/*']] },
    Condition: {
      ArnLike: { 'aws:SourceArn': sourceBuckets },
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    },
  };
}

module.exports = async ({ resolveVariable }) => {
  const pages = await resolveVariable('param:pagesBucket');
  const results = await resolveVariable('param:resultsBucket');
  const accessLogs = await resolveVariable('param:accessLogsBucket');
  const retain = String(await resolveVariable('param:retainBuckets')) !== 'false';
  const policy = retain ? 'Retain' : 'Delete';
  const topicConfigurations = suffixes('pages').flatMap((suffix) =>
    wiring.pages.events.map((event) => ({ Event: event, Topic: { Ref: 'PagesTopic' }, Filter: suffixFilter(suffix) })));
  // Book files (.pdf) go to the split queue, the splitter's trigger.
  const queueConfigurations = suffixes('books').flatMap((suffix) => wiring.books.events.map((event) => ({
    Event: event, Queue: { 'Fn::GetAtt': ['SplitQueue', 'Arn'] }, Filter: suffixFilter(suffix),
  })));
  const lambdaConfigurations = suffixes('results').flatMap((suffix) => wiring.results.events.map((event) => ({
    Event: event, Function: { 'Fn::GetAtt': ['IndexerLambdaFunction', 'Arn'] }, Filter: suffixFilter(suffix),
  })));
  const accessLogsBucket = bucket(accessLogs, policy, {
    LifecycleConfiguration: { Rules: [
      { Id: 'expire-logs', Status: 'Enabled', ExpirationInDays: 365, NoncurrentVersionExpiration: { NoncurrentDays: 30 } },
    ] },
  });
  accessLogsBucket.Metadata = { checkov: { skip: [{
    id: 'CKV_AWS_18',
    comment: 'This is the access-log bucket of the other three; logging it into itself would log its own log writes without end.',
  }] } };
  return {
    Resources: {
      PagesBucket: {
        ...bucket(pages, policy, {
          ...logsTo('pages/'),
          NotificationConfiguration: { TopicConfigurations: topicConfigurations, QueueConfigurations: queueConfigurations },
        }),
        DependsOn: ['PagesTopicPolicy', 'SplitQueuePolicy', 'AccessLogsBucketPolicy'],
      },
      PagesBucketPolicy: tlsOnly('PagesBucket'),
      ResultsBucket: {
        ...bucket(results, policy, { ...logsTo('results/'), NotificationConfiguration: { LambdaConfigurations: lambdaConfigurations } }),
        DependsOn: ['IndexerS3Permission', 'AccessLogsBucketPolicy'],
      },
      ResultsBucketPolicy: tlsOnly('ResultsBucket'),
      AccessLogsBucket: accessLogsBucket,
      AccessLogsBucketPolicy: tlsOnly('AccessLogsBucket', [logDelivery([
        partition(`:s3:::${pages}`), partition(`:s3:::${results}`),
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'ServerlessDeploymentBucket' }]] },
      ])]),
    },
  };
};
