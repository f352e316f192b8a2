'use strict';
// Local plugin: makes `npx sls package` work as typed, offline, with no AWS account.
//  1. Builds the artifacts the functions need before packaging: the Python
//     dependencies as Linux wheels for the Lambda runtime (build/python-deps),
//     and the Tesseract layer (layers/tesseract) if it has not been built.
//     The build scripts run with $PYTHON if set, else the project's
//     .venv/bin/python when it exists (layers/build.py imports python-debian
//     and pyelftools, which `make setup` installs there), else python3.
//  2. Skips the framework's comparison with the last deployed layer
//     (CloudFormation DescribeStacks) when no AWS credentials are configured,
//     and, with credentials, when CloudFormation cannot be reached (no network:
//     a CI job with dummy keys, a laptop on a train) or the credentials cannot
//     be resolved. Skipping costs at most a re-upload of an unchanged layer;
//     any other error (access denied, throttling) still fails the command, and
//     a reachable account is compared as usual, so deploys reuse unchanged
//     layers.
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

function hasAwsCredentials() {
  const env = process.env;
  if (env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return true;
  }
  const files = [
    env.AWS_SHARED_CREDENTIALS_FILE || path.join(os.homedir(), '.aws', 'credentials'),
    env.AWS_CONFIG_FILE || path.join(os.homedir(), '.aws', 'config'),
  ];
  return files.some((file) => fs.existsSync(file));
}

// A reachable CloudFormation answers DescribeStacks in about a second; without
// a deadline the SDK retries a silent endpoint 5 times with a 120 s socket
// timeout each, and the package would appear to hang.
const COMPARISON_TIMEOUT_MS = 10000;
// What Node.js reports when a request never got an answer: the DNS and socket
// codes the AWS SDK itself classifies as network errors. (SDK v2 said
// "Inaccessible host"; osls 4 uses v3, which passes these codes through.)
const NETWORK_ERROR_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH',
]);
// osls turns an unknown profile or an empty provider chain into these codes.
const CREDENTIALS_ERROR_CODES = new Set(['AWS_CREDENTIALS_NOT_FOUND', 'UNRECOGNIZED_AWS_PROFILE']);

function firstSentence(message) {
  return String(message).split('\n')[0].split('. ')[0];
}

// Why the comparison could not run, or null when the error is CloudFormation's
// own answer (or a bug) and must not be hidden. The SDK may wrap the cause.
function unreachable(error) {
  for (let cause = error, depth = 0; cause && depth < 5; cause = cause.cause, depth += 1) {
    if (cause.name === 'AbortError') {
      return `CloudFormation did not answer within ${COMPARISON_TIMEOUT_MS / 1000} s`;
    }
    if (NETWORK_ERROR_CODES.has(cause.code) || cause.name === 'TimeoutError' ||
        /Inaccessible host/.test(cause.message)) {
      return `CloudFormation not reachable (${firstSentence(cause.message)})`;
    }
    if (CREDENTIALS_ERROR_CODES.has(cause.code) || cause.name === 'CredentialsProviderError' ||
        String(cause.code).startsWith('AWS_SSO_LOGIN_')) {
      return `AWS credentials not usable (${firstSentence(cause.message)})`;
    }
  }
  return null;
}

// The abort cancels the retries and the socket too, so nothing keeps the
// process waiting after packaging.
function withDeadline(client) {
  const send = client.send.bind(client);
  client.send = (command, options = {}) =>
    send(command, { abortSignal: AbortSignal.timeout(COMPARISON_TIMEOUT_MS), ...options });
  return client;
}

function buildPython(serviceDir) {
  if (process.env.PYTHON) return process.env.PYTHON;
  const venv = path.join(serviceDir, '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}`);
}

class PackageOffline {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.buildArtifacts(),
      'before:package:compileLayers': () => this.guardLayerComparison(),
    };
  }

  buildArtifacts() {
    const root = this.serverless.serviceDir;
    const python = buildPython(root);
    const arch = this.serverless.service.provider.architecture === 'arm64' ? 'arm64' : 'amd64';
    run(python, ['scripts/build_python_deps.py', '--arch', arch], root);
    if (!fs.existsSync(path.join(root, 'layers', 'tesseract', 'bin', 'tesseract'))) {
      run(python, ['layers/build.py', '--arch', 'amd64'], root);
    }
    if (arch === 'arm64' && !fs.existsSync(path.join(root, 'layers', 'build', 'tesseract-arm64', 'bin', 'tesseract'))) {
      run(python, ['layers/build.py', '--arch', 'arm64'], root);
    }
  }

  guardLayerComparison() {
    const compiler = this.serverless.pluginManager.plugins.find(
      (plugin) => typeof plugin.compareWithLastLayer === 'function'
    );
    if (!compiler) return;
    const skipped = (why, layerName) =>
      this.serverless.cli.log(`${why}: layer ${layerName} not compared with the last deployment.`);
    if (!hasAwsCredentials()) {
      compiler.compareWithLastLayer = async (layerName) => skipped('No AWS credentials', layerName);
      return;
    }
    // The layer compiler has a CloudFormation client of its own, used for
    // nothing else: the deadline does not reach the deploy's requests.
    if (typeof compiler.getCloudFormationClient === 'function') {
      const getClient = compiler.getCloudFormationClient.bind(compiler);
      let client;
      compiler.getCloudFormationClient = () => (client ||= getClient().then(withDeadline));
    }
    const compare = compiler.compareWithLastLayer.bind(compiler);
    compiler.compareWithLastLayer = async (layerName) => {
      try {
        return await compare(layerName);
      } catch (error) {
        const why = unreachable(error);
        if (!why) throw error;
        return skipped(why, layerName);
      }
    };
  }
}

module.exports = PackageOffline;
