/**
 * Fixed keys for the handshake tests: identities from fixed Ed25519 seeds (Ed25519 signatures are
 * deterministic, so a transcript built from them is reproducible byte for byte), fixed X25519
 * ephemerals, and one frozen RSA-3072 OAEP transport key (generated once; key generation is slow
 * and OAEP is randomized, so the RSA known-answer vector needs a fixed private key).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { x25519KeyPairFromPrivate } from '../../src/crypto/handshake-keys.js';
import { importPrivateKey, type Identity } from '../../src/crypto/identity.js';
import type { X25519KeyPair } from '../../src/crypto/x25519.js';

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 identity whose 32-byte seed is `byte` repeated. */
export function fixedIdentity(byte: number): Identity {
  return importPrivateKey(Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.alloc(32, byte)]), 'ed25519');
}

/** An X25519 key pair whose private key is `byte` repeated. */
export function fixedEphemeral(byte: number): X25519KeyPair {
  return x25519KeyPairFromPrivate(Buffer.alloc(32, byte));
}

/** `n` bytes of `byte`: fixed "randomness". */
export function fixedBytes(n: number, byte: number): Buffer {
  return Buffer.alloc(n, byte);
}

const RSA_TRANSPORT_PKCS8 = [
  'MIIG/AIBADANBgkqhkiG9w0BAQEFAASCBuYwggbiAgEAAoIBgQCeT/qIiIMhiYVowpLRlwfC3SMBH6koS5zl9SN98E',
  'DAP/8NQehTigDl/upOU+jZKeV5JeGdSzmzbEEna86qnqLB/0N3/iIj9yMXen89x9edKKnMaMx7/qHNCSvihUl5b7k4',
  'pI8JGRjiIKZ/4lUGJuqXT9j088EWOVKWoEzmIBfyQcOkylek3qpawkAd9XXZHWhc2vAKBaw+32xuRWfWxu/fH8BIsb',
  'PRKVBg4YPmdoacdoeiJtEmJTgyBKuI3SSM1cr6sF6Ascf3tNVmQg4kYwp51E3zXSSgjsQaguYq6kMDNCGNmKXNc8J/',
  'NIvRvg7MguKvC7o6m2YCefUxL9261s2LQM04xUW6DLzcFtNNUAeQEJsvAK8WqMO3olFuyEQEsC1tmLjsx18cbc9WlT',
  'Et/qER+n+CcEt5Z8dOjR+2Jjf607igLRehVVpkirgi0GcViesZcrh8iUZIqQAKpGiI6KhMGyhN0CcuJgCdPR/KZ53p',
  'pyNF/rHsh19mJETOQrb8tt0CAwEAAQKCAYBBcfWzgJ+Y+yVkD9+q9kEWnN1OJx0CU/PKGqNv+iSCdVJGVEMrWccSTW',
  'XmOIjvUYMUKIVSxZjWY/+xQL+ASDEnepOVJMFPVeizWYgFbbpkNT2wi3hRIAwaW1rBe3FK2tVapaidzbq8LFw4TMPy',
  'VZ8wKymY5bWiLtNGAoGXtpe/pdEvrBg8R3JsL5Za7DCqLx6IGFgYBI1Wtn04Psf1AWuDNTiDtLaN1oLscf3ZhZETWG',
  'qsrVhT6RoIj2asHyNvdyeZe0WHnRFPWyR8dYWqx2DbMLwy47uhbWECeSlgQ4J/ehuetcZ9MnzU4f/TXDQTbjdNaxJ1',
  '5aLy9RswHoa7kfJha/c86I5Z71g73gF6g51DeUILZm22RPe+Q9Z9EDAWBDuCO+HIaO8QsUHUXWPQ6pJ90lwR5Yg6nW',
  'BWmQACo+Undif6hTgUOAVCRVc3Uis/j+O2aCzKz+vNJjTE+cLbCUvjywTTEk2C5NDsDPq1SlgjxBw8swhOHjNPZTt/',
  'YSif0g8CgcEA3QdMxzzC1ZfGuO+PUcqj05saLy8SpA7PL50ejz72iRFsRVf0QwEiYQ2fC1x2oXXP/A1hV9w7P/FnHG',
  'qdTuUKphNmDLkQI0Ql3vK5zMumwKCxRofsPjPf8UAHuuISwgBhF+cd4oNGJE/OSEi30V3nmXqUR5ovFJtmt+n0qpIr',
  'O/giCqFj3NgDvmoWTlQWui7sRuxFVmDZjARhPbepPBwQyr3bkWu3j/p2PE76uRw0VxPusHyqLFUwCq+42FOEWmnjAo',
  'HBALdcYVHyJ8PUq1BgQcANDvOT5VP9x8fsxfPBJtPUvD76ekY2cuS6wA/M6lpBOiJTp9taFI88Dq+KSZxakCqgLtHI',
  '1aqaAA4ehev3CcwjL8050nVpAPBAotQ54sZGqpqhnC/nMP1v0ZzxxctrqykUSu5pa+tn/C4q1fTAhVIZERzFAC0hlU',
  'L9Ff7Q3OZMWrJcjn98y6/0/Mmznx2FS5fEWSGDd+OefZTvabIHNflkfucjMN9P+Aapp83cJdQ0TJE4PwKBwCpmaBgg',
  'U8/dmcWITxoFoX/KVS+P/Cd0n9ImdeJM1cZdjUOQJ89ivFGZ51SqnCdFDmzvtCjCmqsdiAYvfZXQ4kYRmpX+OlZJkG',
  'pAbdwXhRmWuespz+vuz5rcCZ+UFr0YjYekUltNi3sTxCKhsIF9XhxXI3LI5Rcy6HWHb+P4vkp2wzD+3MVUuwMgHr9P',
  '6jw1HCZO1M5JLfJqNK0+OjzJtX7vBNvUqhX4mg3fqMEx4+iAbl10zMBMZzbllrQI8W7WuQKBwBXR+Ybd8Vt9mHF1Mv',
  '3ez/OumvDW14p0I85xIuS8gTZhamGmox+TFb4Lnavl7TwehnA1FRNCi2DabQ4dPODFtSyj4MFvmCgV+8vr1w+i9FJQ',
  '2jm8qC7vEjF9Pf5odG74YnTU52CRiPlLUEV356N41b3vb7dQ5ZK86D87FeKCNyYcT3wPbgrNwWtUgaUqWvS0zQRg3o',
  'BvABIkvP+vWCKUbCLv2TmOJ9WsdACKmSK3kd6BspQwmQx57g0ycJIDM0Vo0wKBwA4GC6jjqS3S6D2Dh7CJUjatg8gn',
  'oOLKCePWCewMjtkn2fjn1Rf9GwMSK3nRzQ681gW2MLfoWuGOvUbg5thKtaHZBlpDKf9nfzacLaF0V0p9GQllSRTPnS',
  'wl99RQ/rWxuZttySkJBrsr3o99iVdzpOcdcxmykBOdJFw5DLFuufTwso93kEwWUNmNkBkHvkfEpwhy06frrJ9ebVsW',
  'jHg5/fdG2H7fM6SG2A+NhTMWIV5GWIDCnb5ylzhks55PAeFs2Q==',
].join('');

/** The frozen RSA-3072 OAEP transport key pair. */
export function fixedRsaTransportKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKey = createPrivateKey({
    key: Buffer.from(RSA_TRANSPORT_PKCS8, 'base64'),
    format: 'der',
    type: 'pkcs8',
  });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** A "random" source that counts: distinct, reproducible bytes per call. */
export function countingRandom(seed = 1): (n: number) => Buffer {
  let counter = seed;
  return (n) => {
    const out = Buffer.alloc(n);
    out.writeUInt32BE(counter++ >>> 0, 0);
    out.fill(0xa5, 4);
    return out;
  };
}
