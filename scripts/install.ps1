# Installs the TelemHQ hook for Claude Code on Windows, from PowerShell, in one command:
#
#   & ([scriptblock]::Create((Invoke-RestMethod "$BASE/install.ps1"))) -BaseUrl $BASE -Url https://telemhq.com/ping/YOUR_TOKEN
#
# The same rules as install.sh: it finds Deno, Bun or Node (22.18+), downloads hook.ts and SHA256SUMS from
# the base URL (-BaseUrl, or TELEMHQ_INSTALL_BASE_URL; no redirect is followed: give the files' own URL),
# checks the checksum before anything is moved into place, then runs the hook's own install with the ping URL
# (-Url, else $env:TELEMHQ_PING_URL, which keeps it out of your command history; passed to the hook on standard
# input, never on a command line), -Runtime, -Scope (user, project or local: the repository you are in) and
# -ToolActivity. A team's policy is printed by hook.ts install --scope managed, not by this script. -Sha256 HEX
# checks hook.ts against a checksum you got elsewhere instead of the server's SHA256SUMS. It never needs an
# administrator. Claude Code on Windows runs hooks in Git Bash: install refuses, and says so, when there is none.
# Written for Windows PowerShell 5.1 and PowerShell 7.
#
# Not yet run on Windows by this project's own CI (see docs/platforms.md); the GitHub Actions
# workflow runs it on windows-latest.
param(
  [string]$BaseUrl = $env:TELEMHQ_INSTALL_BASE_URL,
  [string]$Url = $env:TELEMHQ_PING_URL,
  [ValidateSet("", "deno", "bun", "node")][string]$Runtime = "",
  [ValidateSet("", "user", "project", "local")][string]$Scope = "",
  [switch]$ToolActivity,
  [string]$Sha256 = ""
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = "Stop"

# Variables that make a runtime load code or drop TLS checks (the same list as the hook's own).
$UnsafeEnvNames = @(
  "NODE_OPTIONS", "NODE_COMPILE_CACHE", "NODE_REPL_EXTERNAL_MODULE", "NODE_TLS_REJECT_UNAUTHORIZED",
  "BUN_OPTIONS", "BUN_RUNTIME_TRANSPILER_CACHE_PATH", "BUN_INSPECT", "BUN_INSPECT_PRELOAD",
  "BUN_INSPECT_CONNECT_TO", "DENO_DIR", "XDG_CACHE_HOME"
)

# A terminating error, never `exit`: run as a script block, exit would close the user's PowerShell window.
function Stop-Install([string]$Message) {
  throw "TelemHQ install: $Message"
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

# Node runs hook.ts itself from 22.18 (type stripping on by default).
function Test-NodeVersion([string]$Path) {
  $version = (& $Path --version 2>$null | Select-Object -First 1)
  if ($version -notmatch "^v(\d+)\.(\d+)\.") { return $false }
  $major = [int]$Matches[1]
  return $major -gt 22 -or ($major -eq 22 -and [int]$Matches[2] -ge 18)
}

# A runtime on PATH, or where Deno's and Bun's installers put it: a real .exe (a .cmd or .bat shim would have
# cmd.exe parse the arguments again), never one whose folder is the current one (a repository could hold a deno.exe).
function Find-Runtime([string]$Wanted) {
  $here = (Get-Location).ProviderPath.TrimEnd("\")
  $names = if ($Wanted) { @($Wanted) } else { @("deno", "bun", "node") }
  foreach ($name in $names) {
    $candidates = @(Get-Command "$name.exe" -CommandType Application -ErrorAction SilentlyContinue | ForEach-Object { $_.Source })
    if ($env:USERPROFILE -and $name -ne "node") { $candidates += Join-Path $env:USERPROFILE ".$name\bin\$name.exe" }
    foreach ($path in $candidates) {
      if (-not [IO.Path]::IsPathRooted($path) -or -not $path.EndsWith(".exe", [StringComparison]::OrdinalIgnoreCase)) {
        continue
      }
      if (-not (Test-Path -LiteralPath $path -PathType Leaf)) { continue }
      if ([string]::Equals((Split-Path -Parent $path).TrimEnd("\"), $here, [StringComparison]::OrdinalIgnoreCase)) {
        continue
      }
      if ($name -eq "node" -and -not (Test-NodeVersion $path)) { continue }
      return @{ Kind = $name; Path = $path }
    }
  }
  Stop-Install "no Deno, Bun or Node 22.18+ found on PATH: install one (https://deno.com, https://bun.sh, https://nodejs.org) and run this again."
}

# No redirect is followed: Windows PowerShell 5.1 would follow one from https to plain http.
function Get-File([string]$From, [string]$OutFile) {
  $response = $null
  try {
    $response = Invoke-WebRequest -Uri $From -OutFile $OutFile -PassThru -UseBasicParsing -MaximumRedirection 0
  } catch {
    $response = $null
  }
  if ($null -eq $response -or $response.StatusCode -ne 200) {
    Stop-Install "cannot download ${From}: check the base URL and your connection (redirects are not followed)."
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
# and without the variables that make a runtime load code (put back afterwards: this is the user's session).
# The ping URL goes on standard input: a command line is visible to every user of the machine.
function Invoke-HookInstall([hashtable]$Found, [string]$Folder, [string[]]$Arguments) {
  $saved = @{}
  foreach ($name in $UnsafeEnvNames) {
    $value = [Environment]::GetEnvironmentVariable($name, "Process")
    if ($null -ne $value) { $saved[$name] = $value; [Environment]::SetEnvironmentVariable($name, $null, "Process") }
  }
  $hook = Join-Path $Folder "hook.ts"
  Push-Location -LiteralPath $Folder
  try {
    switch ($Found.Kind) {
      "deno" { $Url | & $Found.Path run --no-config --no-lock --no-prompt -A $hook install @Arguments | Out-Host }
      "bun" {
        $config = Join-Path $Folder "bunfig.toml"
        Set-Content -LiteralPath $config -Value "" -NoNewline
        $Url | & $Found.Path "--config=$config" --no-env-file --no-install $hook install @Arguments | Out-Host
      }
      default { $Url | & $Found.Path $hook install @Arguments | Out-Host }
    }
    return [int]$LASTEXITCODE
  } finally {
    Pop-Location
    foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name], "Process") }
  }
}

function Main {
  Assert-BaseUrl $BaseUrl
  if (-not $Url) {
    Stop-Install "no ping URL: set `$env:TELEMHQ_PING_URL (or give -Url https://telemhq.com/ping/YOUR_TOKEN)."
  }
  if ($Sha256 -and $Sha256 -notmatch "^[0-9a-fA-F]{64}$") { Stop-Install "-Sha256 takes 64 hex digits." }
  $found = Find-Runtime $Runtime
  $arguments = @("--url", "-", "--runtime", $found.Kind)
  # A repository's settings are the current folder's: install runs from the download folder, so it is named.
  if ($Scope) { $arguments += @("--scope", $Scope) }
  if ($Scope -eq "project" -or $Scope -eq "local") { $arguments += @("--dir", (Get-Location).ProviderPath) }
  if ($ToolActivity) { $arguments += "--tool-activity" }
  # The user's own temporary folder (under their profile), not a TEMP that may point at a shared C:\Temp.
  $temp = if ($env:LOCALAPPDATA) { Join-Path $env:LOCALAPPDATA "Temp" } else { [IO.Path]::GetTempPath() }
  $folder = Join-Path $temp ("telemhq-install-" + [Guid]::NewGuid().ToString("N"))
  New-Item -ItemType Directory -Path $folder | Out-Null
  try {
    $base = $BaseUrl.TrimEnd("/")
    Get-File "$base/hook.ts" (Join-Path $folder "hook.ts")
    if (-not $Sha256) { Get-File "$base/SHA256SUMS" (Join-Path $folder "SHA256SUMS") }
    Assert-Checksum $folder $Sha256
    $code = Invoke-HookInstall $found $folder $arguments
  } finally {
    Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
  }
  if ($code -ne 0) { Stop-Install "the hook's install failed (see above); nothing else was changed by this script." }
}

Main
