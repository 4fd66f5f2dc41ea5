// Hardhat's network helpers and loadFixture against a cmnode development chain.
const assert = require("node:assert/strict");
const { ethers, network } = require("hardhat");
const {
  loadFixture,
  time,
  mine,
  setBalance,
  impersonateAccount,
  stopImpersonatingAccount,
} = require("@nomicfoundation/hardhat-network-helpers");

const ONE_HOUR = 3600;
const LOCKED = 1_000_000_000n;

async function deployLock() {
  const [owner, other] = await ethers.getSigners();
  const unlockTime = (await time.latest()) + ONE_HOUR;
  const lock = await ethers.deployContract("Lock", [unlockTime], { value: LOCKED });
  await lock.waitForDeployment();
  return { lock, unlockTime, owner, other, deployedAt: await ethers.provider.getBlockNumber() };
}

describe("cmnode development chain", function () {
  it("loadFixture deploys once, then restores the chain to the fixture", async function () {
    const first = await loadFixture(deployLock);
    await time.increaseTo(first.unlockTime);
    await (await first.lock.withdraw()).wait();
    assert.equal(await first.lock.withdrawals(), 1n);
    assert.equal(await ethers.provider.getBalance(await first.lock.getAddress()), 0n);

    const again = await loadFixture(deployLock);
    assert.equal(await again.lock.getAddress(), await first.lock.getAddress());
    assert.equal(await ethers.provider.getBlockNumber(), again.deployedAt);
    assert.equal(await again.lock.withdrawals(), 0n);
    assert.equal(await ethers.provider.getBalance(await again.lock.getAddress()), LOCKED);
  });

  it("time.increase moves the next block's timestamp and unlocks the contract", async function () {
    const { lock, unlockTime } = await loadFixture(deployLock);
    await assert.rejects(lock.withdraw(), /You can't withdraw yet/);
    const before = await time.latest();
    const after = await time.increase(ONE_HOUR);
    assert.equal(after, before + ONE_HOUR);
    assert.ok(after >= unlockTime);
    await (await lock.withdraw()).wait();
    assert.equal(await lock.withdrawals(), 1n);
  });

  it("mine makes blocks on demand, spaced by the interval", async function () {
    await loadFixture(deployLock);
    const start = await ethers.provider.getBlockNumber();
    await mine(10);
    assert.equal(await ethers.provider.getBlockNumber(), start + 10);
    await mine(3, { interval: 60 });
    const last = await ethers.provider.getBlock("latest");
    const previous = await ethers.provider.getBlock(last.number - 1);
    assert.equal(last.number, start + 13);
    assert.equal(last.timestamp - previous.timestamp, 60);
  });

  it("setBalance gives any address a balance", async function () {
    await loadFixture(deployLock);
    const address = ethers.Wallet.createRandom().address;
    await setBalance(address, ethers.parseEther("12.5"));
    assert.equal(await ethers.provider.getBalance(address), ethers.parseEther("12.5"));
  });

  it("impersonateAccount sends from an address whose key nobody holds", async function () {
    const { owner } = await loadFixture(deployLock);
    const address = ethers.Wallet.createRandom().address;
    await setBalance(address, ethers.parseEther("3"));
    await impersonateAccount(address);
    const signer = await ethers.getImpersonatedSigner(address);
    const ownerBefore = await ethers.provider.getBalance(owner.address);
    const tx = await signer.sendTransaction({ to: owner.address, value: ethers.parseEther("1") });
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    assert.equal(receipt.from.toLowerCase(), address.toLowerCase());
    assert.equal(tx.from.toLowerCase(), address.toLowerCase());
    assert.equal(await ethers.provider.getBalance(owner.address), ownerBefore + ethers.parseEther("1"));

    await stopImpersonatingAccount(address);
    await assert.rejects(signer.sendTransaction({ to: owner.address, value: 1n }), /unknown account/);
  });

  it("runs against the development chain, not Hardhat Network", async function () {
    assert.equal(network.name, "cmnode");
    const version = await network.provider.send("web3_clientVersion");
    assert.match(version, /^anvil-compatible cmnode\//);
  });
});
