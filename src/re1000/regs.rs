// SPDX-License-Identifier: GPL-2.0

//! Registers and descriptor fields of the 82540EM (the 8254x Software Developer's Manual, and
//! `drivers/net/ethernet/intel/e1000/e1000_hw.h`), the few this driver uses.

/// The size of the register file (BAR 0).
pub(crate) const BAR0_SIZE: usize = 0x20000;

pub(crate) const CTRL: usize = 0x0000;
pub(crate) const STATUS: usize = 0x0008;
pub(crate) const EECD: usize = 0x0010;
pub(crate) const EERD: usize = 0x0014;
pub(crate) const CTRL_EXT: usize = 0x0018;
pub(crate) const ICR: usize = 0x00c0;
pub(crate) const ICS: usize = 0x00c8;
pub(crate) const IMS: usize = 0x00d0;
pub(crate) const IMC: usize = 0x00d8;
pub(crate) const RCTL: usize = 0x0100;
pub(crate) const TCTL: usize = 0x0400;
pub(crate) const TIPG: usize = 0x0410;
/// The registers of a ring, from its base (`RDBAL`, `TDBAL`).
pub(crate) const RING_BAL: usize = 0x00;
pub(crate) const RING_BAH: usize = 0x04;
pub(crate) const RING_LEN_REG: usize = 0x08;
pub(crate) const RING_HEAD: usize = 0x10;
pub(crate) const RING_TAIL: usize = 0x18;
pub(crate) const RDBAL: usize = 0x2800;
pub(crate) const RDT: usize = RDBAL + RING_TAIL;
pub(crate) const RDH: usize = RDBAL + RING_HEAD;
pub(crate) const RDLEN: usize = RDBAL + RING_LEN_REG;
pub(crate) const RDTR: usize = 0x2820;
pub(crate) const RADV: usize = 0x282c;
pub(crate) const TDBAL: usize = 0x3800;
pub(crate) const TDT: usize = TDBAL + RING_TAIL;
pub(crate) const TDH: usize = TDBAL + RING_HEAD;
pub(crate) const TDLEN: usize = TDBAL + RING_LEN_REG;
pub(crate) const TIDV: usize = 0x3820;
pub(crate) const TADV: usize = 0x382c;
pub(crate) const ITR: usize = 0x00c4;
pub(crate) const MTA: usize = 0x5200;
pub(crate) const MTA_LEN: usize = 128;
pub(crate) const RAL0: usize = 0x5400;
pub(crate) const RAH0: usize = 0x5404;
pub(crate) const RA_LEN: usize = 16;

/// Statistics, cleared when read: CRC errors, receive errors, missed packets (no room in
/// the FIFO), no receive buffer.
pub(crate) const CRCERRS: usize = 0x4000;
pub(crate) const RXERRC: usize = 0x400c;
pub(crate) const MPC: usize = 0x4010;
pub(crate) const RNBC: usize = 0x40a0;

/// EEPROM word of the image version (major 15:12, minor 11:4, build 3:0).
pub(crate) const EEPROM_VERSION_WORD: u32 = 5;

/// PCI configuration space: the command register, its memory decoding and bus-master bits.
pub(crate) const PCI_COMMAND: usize = 0x04;
pub(crate) const PCI_COMMAND_MEMORY: u16 = 1 << 1;
pub(crate) const PCI_COMMAND_MASTER: u16 = 1 << 2;

pub(crate) const CTRL_ASDE: u32 = 1 << 5;
pub(crate) const CTRL_SLU: u32 = 1 << 6;
pub(crate) const CTRL_LRST: u32 = 1 << 3;
pub(crate) const CTRL_ILOS: u32 = 1 << 7;
pub(crate) const CTRL_FRCSPD: u32 = 1 << 11;
pub(crate) const CTRL_FRCDPX: u32 = 1 << 12;
pub(crate) const CTRL_RST: u32 = 1 << 26;
pub(crate) const CTRL_VME: u32 = 1 << 30;
pub(crate) const CTRL_PHY_RST: u32 = 1 << 31;

pub(crate) const STATUS_FD: u32 = 1 << 0;
pub(crate) const STATUS_LU: u32 = 1 << 1;
pub(crate) const STATUS_SPEED_SHIFT: u32 = 6;

pub(crate) const EERD_START: u32 = 1 << 0;
pub(crate) const EERD_DONE: u32 = 1 << 4;
pub(crate) const EERD_ADDR_SHIFT: u32 = 8;
pub(crate) const EERD_DATA_SHIFT: u32 = 16;

/// Interrupt causes (ICR, ICS, IMS, IMC).
pub(crate) const INT_TXDW: u32 = 1 << 0;
pub(crate) const INT_LSC: u32 = 1 << 2;
pub(crate) const INT_RXSEQ: u32 = 1 << 3;
pub(crate) const INT_RXDMT0: u32 = 1 << 4;
pub(crate) const INT_RXT0: u32 = 1 << 7;
/// The causes this driver handles, as the C driver's `IMS_ENABLE_MASK`.
pub(crate) const INT_MASK: u32 = INT_TXDW | INT_LSC | INT_RXSEQ | INT_RXDMT0 | INT_RXT0;

pub(crate) const RCTL_EN: u32 = 1 << 1;
/// Unicast and multicast promiscuous.
pub(crate) const RCTL_UPE: u32 = 1 << 3;
pub(crate) const RCTL_MPE: u32 = 1 << 4;
pub(crate) const RCTL_BAM: u32 = 1 << 15;
/// Strip the CRC, so that the length written back is the frame's.
pub(crate) const RCTL_SECRC: u32 = 1 << 26;

pub(crate) const TCTL_EN: u32 = 1 << 1;
pub(crate) const TCTL_PSP: u32 = 1 << 3;
pub(crate) const TCTL_CT: u32 = 0x0f << 4;
pub(crate) const TCTL_COLD: u32 = 0x3f << 12;
pub(crate) const TCTL_RTLC: u32 = 1 << 24;

/// Inter-packet gap for copper (IPGT 8, IPGR1 8, IPGR2 6).
pub(crate) const TIPG_COPPER: u32 = 8 | (8 << 10) | (6 << 20);

/// Receive address high: the address is valid.
pub(crate) const RAH_AV: u32 = 1 << 31;

/// Legacy descriptors: two little-endian 64-bit words, the buffer address then the rest.
pub(crate) const DESC_WORDS: usize = 2;

/// Transmit descriptor, second word: length (bits 15:0), command (31:24), status (39:32).
pub(crate) const TXD_CMD_EOP: u64 = 1 << 24;
pub(crate) const TXD_CMD_IFCS: u64 = 1 << 25;
pub(crate) const TXD_CMD_RS: u64 = 1 << 27;
pub(crate) const TXD_STAT_DD: u64 = 1 << 32;
/// Extended descriptors (context and data), for offloads: `DEXT` set, type in bits 23:20.
pub(crate) const TXD_CMD_DEXT: u64 = 1 << 29;
pub(crate) const TXD_DTYP_DATA: u64 = 1 << 20;
/// Data descriptor: segment with the context's set-up; insert the IP and the TCP/UDP checksums
/// (options, bits 47:40).
pub(crate) const TXD_CMD_TSE: u64 = 1 << 26;
pub(crate) const TXD_POPTS_IXSM: u64 = 1 << 40;
pub(crate) const TXD_POPTS_TXSM: u64 = 1 << 41;
/// Context descriptor, second word: payload length (19:0), command (31:24) with `TCP` and `IP`
/// for segmentation, header length (47:40), MSS (63:48). The first word holds the IP then the
/// TCP/UDP checksum fields: start (7:0), where to store (15:8), end (31:16; 0 = the end).
pub(crate) const TXD_CTX_TCP: u64 = 1 << 24;
pub(crate) const TXD_CTX_IP: u64 = 1 << 25;
/// The most a transmit descriptor takes, as the C driver (`E1000_MAX_DATA_PER_TXD`).
pub(crate) const TXD_MAX_DATA: u32 = 4096;

/// Receive descriptor, second word: length (15:0), checksum (31:16), status (39:32), errors
/// (47:40).
pub(crate) const RXD_STAT_DD: u64 = 1 << 32;
pub(crate) const RXD_STAT_EOP: u64 = 1 << 33;
/// CE, SE, SEQ, CXE, RXE: frames with these are dropped.
pub(crate) const RXD_ERR_FRAME: u64 = 0x97 << 40;
