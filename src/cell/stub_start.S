/* Entry and exit of the cell stub (see stub.c). */

	.text
	.globl _start
_start:
	xor %ebp, %ebp
	mov %rsp, %rdi		/* argc, argv, envp, auxv: iv_stub_main(sp) */
	and $-16, %rsp
	call iv_stub_main
	hlt

/*
 * iv_stub_enter(entry, sp, kind, argc, argv, envp)
 *   kind 1 (process): rsp = sp (pointing at argc), rdx = 0, as the kernel starts a program.
 *   kind 2 (function): entry(argc, argv, envp) on a 16-byte aligned stack; when
 *   it returns, iv_stub_exit hands its result to the exit hostcall.
 */
	.globl iv_stub_enter
iv_stub_enter:
	mov %rdi, %rax
	mov %rsi, %rsp
	cmp $2, %rdx
	jne 1f
	mov %rcx, %rdi
	mov %r8, %rsi
	mov %r9, %rdx
	lea iv_stub_exit(%rip), %rcx
	push %rcx
	jmp 2f
1:	xor %edi, %edi
	xor %esi, %esi
	xor %edx, %edx
2:	mov %rax, %r11
	xor %eax, %eax
	xor %ebx, %ebx
	xor %ecx, %ecx
	xor %ebp, %ebp
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d
	jmp *%r11

/*
 * iv_stub_sigreturn(sp, fsbase, gsbase): a thread restored from an image.
 * The monitor wrote a signal frame at sp - 8 with all its registers and FPU
 * state; rt_sigreturn loads them (FS and GS base are not in the frame).
 */
	.globl iv_stub_sigreturn
iv_stub_sigreturn:
	mov %rdi, %r12
	mov %rdx, %r13
	mov $158, %eax		/* arch_prctl(ARCH_SET_FS, fsbase) */
	mov $0x1002, %edi
	syscall
	mov $158, %eax		/* arch_prctl(ARCH_SET_GS, gsbase) */
	mov $0x1001, %edi
	mov %r13, %rsi
	syscall
	mov %r12, %rsp
	mov $15, %eax		/* rt_sigreturn */
	syscall
	hlt

/*
 * The monitor's syscall gadget: it runs system calls in a stopped thread of
 * the cell by pointing rip here and single-stepping exactly this one
 * instruction (src/cell/inject.c).  The hlt traps should it ever run on.
 */
	.globl iv_stub_gadget
iv_stub_gadget:
	syscall
	hlt

/* A function entry that returns ends the cVM with its return value. */
	.globl iv_stub_exit
iv_stub_exit:
	mov %rax, %rdi
	mov $0x200d, %eax
	syscall
	mov $231, %eax
	syscall
	hlt

	.section .note.GNU-stack,"",@progbits
