'use strict';
// Local plugin: makes `npx sls package` work as typed, offline, with no AWS account.
//  1. Builds the artifacts the functions need before packaging: the Python
//     dependencies as Linux wheels for the Lambda runtime (build/python-deps),
//     and the Tesseract layer (layers/tesseract) if it has not been built.
//     The build scripts run with $PYTHON if set, else the project's
//     .venv/bin/python when it exists (layers/build.py imports python-debian
//     and pyelftools, which `make setup` installs there), else python3.
//  2. Skips the framework's comparison with the last deployed layer
//     (CloudFormation DescribeStacks) when no AWS credentials are configured;
//     with credentials it runs as usual, so deploys still reuse unchanged layers.
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
    if (hasAwsCredentials()) return;
    const compiler = this.serverless.pluginManager.plugins.find(
      (plugin) => typeof plugin.compareWithLastLayer === 'function'
    );
    if (!compiler) return;
    compiler.compareWithLastLayer = async (layerName) => {
      this.serverless.cli.log(`No AWS credentials: layer ${layerName} not compared with the last deployment.`);
    };
  }
}

module.exports = PackageOffline;
