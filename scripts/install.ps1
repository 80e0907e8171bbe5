# Installs the TelemHQ hook for Claude Code on Windows, from PowerShell, in one command:
#
#   & ([scriptblock]::Create((Invoke-RestMethod "$BASE/install.ps1"))) -BaseUrl $BASE -Url https://telemhq.com/ping/YOUR_TOKEN
#
# The same rules as install.sh: it finds Deno, Bun or Node (22.18+), downloads hook.ts and SHA256SUMS from
# the base URL (-BaseUrl, or TELEMHQ_INSTALL_BASE_URL), checks the checksum before anything is moved into
# place, then runs the hook's own install, which takes every other option (--scope, --runtime,
# --tool-activity; see hook.ts --help). -Sha256 HEX checks hook.ts against a checksum you got elsewhere
# instead of the server's SHA256SUMS. It never needs an administrator. Claude Code on Windows runs hooks in
# Git Bash: install refuses, and says so, when there is none.
#
# Not yet run on Windows by this project's own CI (see the README's platform table); the GitHub Actions
# workflow runs it on windows-latest.
[CmdletBinding()]
param(
  [string]$BaseUrl = $env:TELEMHQ_INSTALL_BASE_URL,
  [string]$Sha256 = "",
  [Parameter(ValueFromRemainingArguments = $true)][string[]]$InstallArgs = @()
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = "Stop"

# Variables that make a runtime load code or drop TLS checks (the same list as the hook's own).
$UnsafeEnvNames = @(
  "NODE_OPTIONS", "NODE_COMPILE_CACHE", "NODE_REPL_EXTERNAL_MODULE", "NODE_TLS_REJECT_UNAUTHORIZED",
  "BUN_OPTIONS", "BUN_RUNTIME_TRANSPILER_CACHE_PATH", "BUN_INSPECT", "BUN_INSPECT_PRELOAD",
  "BUN_INSPECT_CONNECT_TO", "DENO_DIR", "XDG_CACHE_HOME"
)

function Stop-Install([string]$Message) {
  [Console]::Error.WriteLine("TelemHQ install: $Message")
  exit 1
}

# Plain http only to this machine: the files are code that will run on every hook event. The URL is taken
# apart by .NET, not matched by prefix: "http://127.0.0.1:80@example.com" names example.com.
function Assert-BaseUrl([string]$Url) {
  if (-not $Url) { Stop-Install "no base URL to download from: give -BaseUrl URL (or set TELEMHQ_INSTALL_BASE_URL)." }
  $parsed = $null
  if (-not [Uri]::TryCreate($Url, [UriKind]::Absolute, [ref]$parsed)) {
    Stop-Install "refusing to download from `"$Url`": it is not a URL; use an https:// URL."
  }
  if ($parsed.UserInfo) { Stop-Install "refusing to download from `"$Url`": a base URL must not hold a user name or password." }
  $loopback = @("127.0.0.1", "localhost", "[::1]") -contains $parsed.Host
  if ($parsed.Scheme -ne "https" -and -not ($parsed.Scheme -eq "http" -and $loopback)) {
    Stop-Install "refusing to download from `"$Url`": use an https:// URL."
  }
}

# A runtime on PATH, never one in the current folder (a repository could hold a deno.exe).
function Find-Runtime {
  $here = (Get-Location).ProviderPath.TrimEnd("\") + "\"
  foreach ($name in @("deno", "bun", "node")) {
    foreach ($command in @(Get-Command $name -CommandType Application -ErrorAction SilentlyContinue)) {
      $path = $command.Source
      if (-not [IO.Path]::IsPathRooted($path)) { continue }
      if ($path.StartsWith($here, [StringComparison]::OrdinalIgnoreCase)) { continue }
      return @{ Kind = $name; Path = $path }
    }
  }
  Stop-Install "no Deno, Bun or Node found on PATH: install one (https://deno.com, https://bun.sh or Node 22.18+) and run this again."
}

# Redirects may only lead to https (PowerShell 7 refuses https to http itself); from a loopback base none is followed.
function Get-File([string]$Url, [string]$OutFile) {
  $redirects = if ($Url.StartsWith("https://")) { 5 } else { 0 }
  try {
    Invoke-WebRequest -Uri $Url -OutFile $OutFile -UseBasicParsing -MaximumRedirection $redirects | Out-Null
  } catch {
    Stop-Install "cannot download ${Url}: check the base URL and your connection (redirects away from https are refused)."
  }
}

function Assert-Checksum([string]$Folder, [string]$Pinned) {
  $expected = $Pinned
  if (-not $expected) {
    foreach ($line in Get-Content -LiteralPath (Join-Path $Folder "SHA256SUMS")) {
      $fields = -split $line
      if ($fields.Count -eq 2 -and ($fields[1] -eq "hook.ts" -or $fields[1] -eq "*hook.ts")) { $expected = $fields[0] }
    }
    if (-not $expected) { Stop-Install "SHA256SUMS has no line for hook.ts: nothing was installed." }
  }
  $actual = (Get-FileHash -LiteralPath (Join-Path $Folder "hook.ts") -Algorithm SHA256).Hash.ToLowerInvariant()
  if ($expected.ToLowerInvariant() -ne $actual) {
    Stop-Install "checksum mismatch for hook.ts: the download is corrupt or was tampered with; nothing was installed."
  }
}

# The runtime starts in the download folder (no repository's deno.json, bunfig.toml or package.json applies)
# and without the variables that make a runtime load code.
function Invoke-HookInstall([hashtable]$Runtime, [string]$Folder, [string[]]$Arguments) {
  foreach ($name in $UnsafeEnvNames) { Remove-Item -LiteralPath "Env:$name" -ErrorAction SilentlyContinue }
  $hook = Join-Path $Folder "hook.ts"
  Push-Location -LiteralPath $Folder
  try {
    switch ($Runtime.Kind) {
      "deno" { & $Runtime.Path run --no-config --no-lock --no-prompt -A $hook install @Arguments }
      "bun" {
        $config = Join-Path $Folder "bunfig.toml"
        Set-Content -LiteralPath $config -Value "" -NoNewline
        & $Runtime.Path "--config=$config" --no-env-file --no-install $hook install @Arguments
      }
      default { & $Runtime.Path $hook install @Arguments }
    }
    return $LASTEXITCODE
  } finally {
    Pop-Location
  }
}

function Main {
  Assert-BaseUrl $BaseUrl
  if ($Sha256 -and $Sha256 -notmatch "^[0-9a-fA-F]{64}$") { Stop-Install "-Sha256 takes 64 hex digits." }
  $runtime = Find-Runtime
  $folder = Join-Path ([IO.Path]::GetTempPath()) ("telemhq-install-" + [Guid]::NewGuid().ToString("N"))
  New-Item -ItemType Directory -Path $folder | Out-Null
  try {
    $base = $BaseUrl.TrimEnd("/")
    Get-File "$base/hook.ts" (Join-Path $folder "hook.ts")
    if (-not $Sha256) { Get-File "$base/SHA256SUMS" (Join-Path $folder "SHA256SUMS") }
    Assert-Checksum $folder $Sha256
    $code = Invoke-HookInstall $runtime $folder $InstallArgs
  } finally {
    Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
  }
  exit $code
}

Main
